//! `/register`, `/check_username`, `/login`, `/logout`, and changing one's
//! password.

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
use super::{ApiError, AppState, CurrentUser, JsonObject};

pub async fn register(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    lang: Lang,
    body: JsonObject,
) -> Result<Response, ApiError> {
    state
        .signup_limiter
        .check(peer.ip(), now_millis())
        .map_err(|secs| ApiError::too_many(Msg::TooManySignups, secs))?;
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
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(username): Path<String>,
) -> Result<Response, ApiError> {
    state
        .lookup_limiter
        .check(peer.ip(), now_millis())
        .map_err(|secs| ApiError::too_many(Msg::TooManyLookups, secs))?;
    let exists = state
        .store
        .read(move |c| users::exists(c, &username))
        .await?;
    Ok(Json(json!({"exists": exists})).into_response())
}

/// Checks a password against the named user's, throttled per name and
/// address. A name that does not exist costs as long as a wrong password.
async fn check_password(
    state: &AppState,
    username: &str,
    password: String,
    addr: Option<std::net::IpAddr>,
) -> Result<Option<users::User>, ApiError> {
    let now = now_millis();
    state
        .throttle
        .attempt(username, addr, now)
        .map_err(|secs| ApiError::too_many(Msg::TooManyAttempts, secs))?;
    // No valid name is this long: no lookup, no hash, already counted.
    if !auth::valid_username(username) {
        return Ok(None);
    }
    let lookup_name = username.to_owned();
    let user = state
        .store
        .read(move |c| users::by_name(c, &lookup_name))
        .await?;
    let hash = match &user {
        Some(u) => u.password_hash.clone(),
        None => auth::dummy_hash().await,
    };
    let verified = auth::verify_password(password, hash).await?;
    let user = user.filter(|_| verified);
    if user.is_some() {
        state.throttle.succeeded(username, addr);
    }
    Ok(user)
}

fn session_cookie(token: &str, max_age_secs: i64) -> Result<HeaderValue, ApiError> {
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{}",
        crate::tls::cookie_attrs(crate::tls::request_is_tls())
    ))
    .map_err(|e| {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, Msg::Internal).with_detail(e.to_string())
    })
}

pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    lang: Lang,
    parts: Parts,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let username = body.str("username")?.to_owned();
    let password = body.str("password")?.to_owned();
    let Some(user) = check_password(&state, &username, password, Some(peer.ip())).await? else {
        tracing::info!(username = %username.chars().take(64).collect::<String>(), peer = %peer.ip(), "login failed");
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            Msg::WrongCredentials,
        ));
    };
    // A session id a page had before logging in is never the one after it
    // (session fixation): the old one ends here.
    if let Some(old) = session_token(&parts) {
        state.sessions.end(auth::hash_token(old)).await?;
    }
    let user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let token = state
        .sessions
        .create(user.id, &user.username, user_agent, Some(peer.ip()))
        .await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        session_cookie(&token, state.sessions.cookie_max_age_secs())?,
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

/// `POST /api/account/password {current_password, new_password}`: every
/// other session of the user ends; this one stays signed in.
pub async fn change_password(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    CurrentUser(session): CurrentUser,
    lang: Lang,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let current = body.str("current_password")?.to_owned();
    let new = body.str("new_password")?.to_owned();
    if new.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ApiError::bad_request(Msg::PasswordTooShort));
    }
    let checked = check_password(&state, &session.username, current, Some(peer.ip())).await?;
    let Some(user) = checked.filter(|u| u.id == session.user_id) else {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, Msg::WrongPassword));
    };
    let hash = auth::hash_password(new).await?;
    state
        .store
        .write(move |c| users::set_password(c, user.id, &hash))
        .await?;
    let ended = state
        .sessions
        .end_all_but(user.id, Some(session.token_hash))
        .await?;
    tracing::info!(username = %user.username, other_sessions_ended = ended, "password changed");
    Ok(Json(json!({"success": true, "message": Msg::PasswordChanged.text(lang)})).into_response())
}

/// Always succeeds: logging out twice, or without a session, is not an error.
pub async fn logout(
    State(state): State<AppState>,
    lang: Lang,
    parts: Parts,
) -> Result<Response, ApiError> {
    if let Some(token) = session_token(&parts) {
        state.sessions.end(auth::hash_token(token)).await?;
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

/// `GET /api/account`: who is signed in, their email address, and whether
/// the hub can send email at all (`[email]` configured).
pub async fn account(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
) -> Result<Response, ApiError> {
    let id = session.user_id;
    let email = state.store.read(move |c| users::email(c, id)).await?;
    Ok(Json(json!({
        "id": id,
        "username": session.username,
        "email": email,
        "email_available": state.email.is_some(),
    }))
    .into_response())
}

/// The longest address SMTP carries (RFC 5321's path limit, less the brackets).
const MAX_EMAIL_CHARS: usize = 254;

/// An address as typed: `None` for null or blank (remove it).
fn email_address(body: &JsonObject) -> Result<Option<String>, ApiError> {
    let Some(typed) = body
        .opt_str("email")?
        .map(str::trim)
        .filter(|e| !e.is_empty())
    else {
        return Ok(None);
    };
    if typed.chars().count() > MAX_EMAIL_CHARS {
        return Err(ApiError::bad_request(Msg::InvalidEmail));
    }
    let address = typed
        .parse::<lettre::Address>()
        .map_err(|e| ApiError::bad_request(Msg::InvalidEmail).with_detail(e.to_string()))?;
    Ok(Some(address.to_string()))
}

/// `POST /api/account/email {email}`: null or "" removes the address.
pub async fn set_email(
    State(state): State<AppState>,
    CurrentUser(session): CurrentUser,
    lang: Lang,
    body: JsonObject,
) -> Result<Response, ApiError> {
    if !body.0.contains_key("email") {
        return Err(ApiError::bad_request(Msg::MissingField("email")));
    }
    let email = email_address(&body)?;
    let (id, saved) = (session.user_id, email.clone());
    state
        .store
        .write(move |c| users::set_email(c, id, saved.as_deref()))
        .await?;
    tracing::info!(user_id = id, set = email.is_some(), "email address changed");
    let message = if email.is_some() {
        Msg::EmailSaved
    } else {
        Msg::EmailRemoved
    };
    Ok(
        Json(json!({"success": true, "email": email, "message": message.text(lang)}))
            .into_response(),
    )
}
