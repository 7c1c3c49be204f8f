//! `/register`, `/check_username`, `/login`, `/logout`.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::auth::{self, MIN_PASSWORD_CHARS, SESSION_COOKIE};
use crate::i18n::{Lang, Msg};
use crate::store::users;
use crate::timefmt::now_millis;

use super::extract::session_token;
use super::{ApiError, AppState, JsonObject};

pub async fn register(
    State(state): State<AppState>,
    lang: Lang,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let username = body.str("username")?.to_owned();
    let password = body.str("password")?.to_owned();
    if !auth::valid_username(&username) {
        return Err(ApiError::bad_request(Msg::UsernameInvalid));
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ApiError::bad_request(Msg::PasswordTooShort));
    }
    match auth::create_user(&state.store, &username, &password).await {
        Ok(_) => {}
        Err(auth::AuthError::Store(crate::store::StoreError::Sqlite(e)))
            if users::is_unique_violation(&e) =>
        {
            return Err(ApiError::bad_request(Msg::UsernameTaken));
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(username, "account created");
    Ok((
        StatusCode::CREATED,
        Json(json!({"success": true, "message": Msg::Registered.text(lang)})),
    )
        .into_response())
}

pub async fn check_username(
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> Result<Response, ApiError> {
    let exists = state
        .store
        .read(move |c| users::exists(c, &username))
        .await?;
    Ok(Json(json!({"exists": exists})).into_response())
}

pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    lang: Lang,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let username = body.str("username")?.to_owned();
    let password = body.str("password")?.to_owned();
    let addr = Some(peer.ip());
    if let Some(secs) = state.throttle.retry_after(&username, addr, now_millis()) {
        let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, Msg::TooManyAttempts);
        e.retry_after = Some(secs);
        return Err(e);
    }
    let lookup_name = username.clone();
    let user = state
        .store
        .read(move |c| users::by_name(c, &lookup_name))
        .await?;
    let hash = match &user {
        Some(u) => u.password_hash.clone(),
        None => auth::dummy_hash().await,
    };
    let verified = auth::verify_password(password, hash).await?;
    let Some(user) = user.filter(|_| verified) else {
        state.throttle.failed(&username, addr, now_millis());
        tracing::info!(username, peer = %peer.ip(), "login failed");
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            Msg::WrongCredentials,
        ));
    };
    state.throttle.succeeded(&username);
    let token = state.sessions.create(user.id, &user.username).await?;
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}",
        state.sessions.lifetime_secs()
    );
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie)
            .map_err(|e| ApiError::from(auth::AuthError::Hash(e.to_string())))?,
    );
    Ok((
        headers,
        Json(json!({
            "success": true,
            "message": Msg::LoggedIn.text(lang),
            "user": {"id": user.id, "username": user.username},
        })),
    )
        .into_response())
}

/// Always succeeds: logging out twice, or without a session, is not an error.
pub async fn logout(
    State(state): State<AppState>,
    lang: Lang,
    parts: Parts,
) -> Result<Response, ApiError> {
    if let Some(token) = session_token(&parts) {
        state.sessions.delete(auth::hash_token(token)).await?;
    }
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&clear) {
        headers.insert(header::SET_COOKIE, v);
    }
    Ok((
        headers,
        Json(json!({"success": true, "message": Msg::LoggedOut.text(lang)})),
    )
        .into_response())
}
