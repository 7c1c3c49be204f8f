//! `/api/push/public_key` and `/api/push_subscription`: a device subscribes
//! to alert pushes in its language, or stops them.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use serde_json::{Value, json};

use crate::i18n::{Lang, Msg};
use crate::notify::{endpoint, push};
use crate::store::push::{self as push_rows, NewSubscription};
use crate::timefmt::now_millis;

use super::{ApiError, AppState, CurrentUser, JsonObject};

/// Most of a User-Agent kept (it only tells devices apart).
const MAX_USER_AGENT_CHARS: usize = 256;

/// The VAPID public key for `pushManager.subscribe({applicationServerKey})`.
pub async fn public_key(State(state): State<AppState>, _user: CurrentUser) -> Json<Value> {
    Json(json!({"public_key": state.notifier.push().public_key()}))
}

/// `{"endpoint", "keys": {"p256dh", "auth"}, "lang"?}`: alerts of every
/// cradle the user can see are pushed to this device in `lang` (default:
/// the request's language).
pub async fn subscribe(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    request_lang: Lang,
    headers: HeaderMap,
    body: JsonObject,
) -> Result<Json<Value>, ApiError> {
    let endpoint = body.str("endpoint")?;
    endpoint::check(endpoint, state.notifier.push().policy())?;
    let keys = match body.0.get("keys") {
        Some(Value::Object(k)) => k,
        None | Some(Value::Null) => return Err(ApiError::bad_request(Msg::MissingField("keys"))),
        Some(_) => return Err(ApiError::bad_request(Msg::InvalidField("keys"))),
    };
    let key = |f: &'static str| match keys.get(f) {
        Some(Value::String(s)) => Ok(s.as_str()),
        None | Some(Value::Null) => Err(ApiError::bad_request(Msg::MissingField(f))),
        Some(_) => Err(ApiError::bad_request(Msg::InvalidField(f))),
    };
    let keys = push::check_keys(key("p256dh")?, key("auth")?)
        .map_err(|push::BadKey(field)| ApiError::bad_request(Msg::InvalidField(field)))?;
    let lang = match body.opt_str("lang")? {
        None => request_lang,
        Some(tag) => Lang::from_accept_language(tag)
            .filter(|_| !tag.contains(','))
            .ok_or_else(|| ApiError::bad_request(Msg::InvalidField("lang")))?,
    };
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect());
    let subscription = NewSubscription {
        user_id: user.user_id,
        endpoint: endpoint.to_owned(),
        p256dh: keys.p256dh,
        auth: keys.auth,
        lang: lang.code(),
        user_agent,
        session_id: Some(user.public_id.clone()),
    };
    state
        .store
        .write(move |c| push_rows::save(c, &subscription, now_millis()))
        .await?;
    Ok(Json(json!({"success": true})))
}

/// `{"endpoint"}`: this device gets no more pushes for this account.
/// Succeeds when there was nothing to remove (`removed: false`).
pub async fn unsubscribe(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    body: JsonObject,
) -> Result<Json<Value>, ApiError> {
    let endpoint = body.str("endpoint")?.to_owned();
    let user_id = user.user_id;
    let removed = state
        .store
        .write(move |c| push_rows::remove_for_user(c, user_id, &endpoint))
        .await?;
    Ok(Json(json!({"success": true, "removed": removed})))
}
