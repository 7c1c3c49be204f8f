//! Extractors: the JSON body as clients really send it, the logged-in user,
//! and "the logged-in user owns this cradle" for every per-cradle route.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde_json::{Map, Value};

use crate::auth::{SESSION_COOKIE, Session};
use crate::i18n::Msg;
use crate::live::CradleLive;
use crate::timefmt::now_millis;

use super::{ApiError, AppState};

/// A JSON object body. The content type is not checked (the mobile app
/// sends `application/json` everywhere, some tools send nothing) and an
/// empty body counts as `{}`, so a missing field gets a message naming it.
pub struct JsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            ApiError::new(
                e.status(),
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    Msg::Busy
                } else {
                    Msg::BadJson
                },
            )
            .with_detail(e.body_text())
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonObject(Map::new()));
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(JsonObject(map)),
            Ok(_) => Err(ApiError::bad_request(Msg::BadJson).with_detail("body is not an object")),
            Err(e) => Err(ApiError::bad_request(Msg::BadJson).with_detail(e.to_string())),
        }
    }
}

impl JsonObject {
    /// A required string field, trimmed of nothing: names are taken as typed.
    pub fn str(&self, field: &'static str) -> Result<&str, ApiError> {
        match self.0.get(field) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s),
            None | Some(Value::Null) => Err(ApiError::bad_request(Msg::MissingField(field))),
            Some(Value::String(_)) => Err(ApiError::bad_request(Msg::MissingField(field))),
            Some(_) => Err(ApiError::bad_request(Msg::InvalidField(field))),
        }
    }

    pub fn opt_str(&self, field: &'static str) -> Result<Option<&str>, ApiError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::bad_request(Msg::InvalidField(field))),
        }
    }
}

pub fn session_token(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// The logged-in user; 401 otherwise.
pub struct CurrentUser(pub Session);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(CurrentUser(s)) = parts
            .extensions
            .get::<CurrentUser>()
            .map(|c| CurrentUser(c.0.clone()))
        {
            return Ok(CurrentUser(s));
        }
        let token = session_token(parts).ok_or_else(ApiError::unauthorized)?;
        let session = state
            .sessions
            .lookup(token)
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        parts.extensions.insert(CurrentUser(session.clone()));
        Ok(CurrentUser(session))
    }
}

impl Clone for CurrentUser {
    fn clone(&self) -> Self {
        CurrentUser(self.0.clone())
    }
}

/// A cradle of the logged-in user, from the route's `{uuid}`: 401 when
/// logged out, 404 when unknown or someone else's (indistinguishable on purpose).
pub struct OwnedCradle {
    pub user: Session,
    pub cradle: Arc<CradleLive>,
}

async fn path_uuid(parts: &mut Parts, state: &AppState) -> Result<String, ApiError> {
    Path::<String>::from_request_parts(parts, state)
        .await
        .map(|Path(uuid)| uuid)
        .map_err(|e| ApiError::cradle_not_found().with_detail(e.body_text()))
}

impl FromRequestParts<AppState> for OwnedCradle {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        let uuid = path_uuid(parts, state).await?;
        let cradle = state
            .live
            .owned(&uuid, user.user_id)
            .ok_or_else(ApiError::cradle_not_found)?;
        Ok(OwnedCradle { user, cradle })
    }
}

/// Cookie session or `?token=` (from `/api/media_token/<uuid>`), checked
/// against a cradle once it is known (from the path, or from the recorded
/// frame or alert a handler looked up).
pub struct MediaAuth {
    user_id: Option<i64>,
    token: Option<String>,
}

#[derive(serde::Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

impl FromRequestParts<AppState> for MediaAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = Query::<TokenQuery>::from_request_parts(parts, state)
            .await
            .ok()
            .and_then(|Query(q)| q.token);
        let user_id = match CurrentUser::from_request_parts(parts, state).await {
            Ok(CurrentUser(s)) => Some(s.user_id),
            Err(_) if token.is_some() => None,
            Err(e) => return Err(e),
        };
        Ok(MediaAuth { user_id, token })
    }
}

impl MediaAuth {
    /// The cradle if the session's user, or the token's, owns it: 401 for a
    /// bad token, 404 for someone else's cradle.
    pub fn require_owner(&self, state: &AppState, uuid: &str) -> Result<Arc<CradleLive>, ApiError> {
        let user_id = match (self.user_id, &self.token) {
            (Some(id), _) => id,
            (None, Some(token)) => state
                .signer
                .verify(token, uuid, now_millis())
                .ok_or_else(ApiError::unauthorized)?,
            (None, None) => return Err(ApiError::unauthorized()),
        };
        state
            .live
            .owned(uuid, user_id)
            .ok_or_else(ApiError::cradle_not_found)
    }
}

/// Like [`OwnedCradle`] but also accepts `?token=` ([`MediaAuth`]), for
/// `<img>` and `<video>` elements that cannot send the cookie.
pub struct MediaCradle {
    pub cradle: Arc<CradleLive>,
}

impl FromRequestParts<AppState> for MediaCradle {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let uuid = path_uuid(parts, state).await?;
        let auth = MediaAuth::from_request_parts(parts, state).await?;
        Ok(MediaCradle {
            cradle: auth.require_owner(state, &uuid)?,
        })
    }
}
