//! Extractors: the JSON body as clients really send it, the logged-in user,
//! and "the logged-in user's role on this cradle allows this" for every
//! per-cradle route.

use std::marker::PhantomData;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde_json::{Map, Value};

use crate::auth::SESSION_COOKIE;
use crate::household::{Need, Role};
use crate::i18n::Msg;
use crate::live::CradleLive;
use crate::sessions::Session;
use crate::timefmt::now_millis;

use super::{ApiError, AppState};

/// A JSON object body. A missing Content-Type is accepted (the firmware's
/// and some tools' clients send none); any other type than JSON is 415, so
/// an HTML form or a `text/plain` beacon from another site never reaches a
/// handler. An empty, truncated or non-object body is 400.
pub struct JsonObject(pub Map<String, Value>);

/// A Content-Type without its parameters (`; charset=...`).
pub(super) fn media_type(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

/// `application/json`, or a `+json` type, with any parameters.
fn is_json_content_type(value: &str) -> bool {
    let essence = media_type(value);
    essence.eq_ignore_ascii_case("application/json")
        || essence
            .rsplit_once('+')
            .is_some_and(|(_, suffix)| suffix.eq_ignore_ascii_case("json"))
}

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(value) = req.headers().get(header::CONTENT_TYPE) {
            let value = value.to_str().unwrap_or("");
            if !is_json_content_type(value) {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    Msg::UnsupportedContentType,
                )
                .with_detail(format!("content-type {value:?}")));
            }
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            ApiError::new(
                e.status(),
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    Msg::BodyTooLarge
                } else {
                    Msg::BadJson
                },
            )
            .with_detail(e.body_text())
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::bad_request(Msg::EmptyBody));
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
        let from = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip());
        let session = state
            .sessions
            .lookup(token, from)
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

/// What a route needs of the logged-in user's role on the cradle in its
/// path: [`Watch`], [`Operate`] or [`Own`].
pub trait Requirement: Send + Sync + 'static {
    const NEED: Need;
}

/// See the cradle: status, live view, recordings, alerts, settings.
pub struct Watch;
/// Act on it: rock, resolve alerts, change alert settings.
pub struct Operate;
/// Its household and the cradle itself: invites, members, removal.
pub struct Own;

impl Requirement for Watch {
    const NEED: Need = Need::Watch;
}
impl Requirement for Operate {
    const NEED: Need = Need::Operate;
}
impl Requirement for Own {
    const NEED: Need = Need::Own;
}

/// A cradle of the logged-in user, from the route's `{uuid}`, with a role
/// that allows `R`: 401 when logged out, 404 when unknown or not theirs
/// (indistinguishable on purpose), 403 when their role does not allow it.
pub struct MemberOf<R: Requirement> {
    pub user: Session,
    pub cradle: Arc<CradleLive>,
    pub role: Role,
    _need: PhantomData<R>,
}

/// The route's `{uuid}` (routes under a cradle may name more parameters).
async fn path_uuid(parts: &mut Parts, state: &AppState) -> Result<String, ApiError> {
    let Path(mut params) =
        Path::<std::collections::HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::cradle_not_found().with_detail(e.body_text()))?;
    params
        .remove("uuid")
        .ok_or_else(|| ApiError::cradle_not_found().with_detail("route without {uuid}"))
}

/// The cradle and the user's role on it, if that role allows `need`.
pub fn cradle_for(
    state: &AppState,
    uuid: &str,
    user_id: i64,
    need: Need,
) -> Result<(Arc<CradleLive>, Role), ApiError> {
    let (cradle, role) = state
        .live
        .access(uuid, user_id)
        .ok_or_else(ApiError::cradle_not_found)?;
    if !role.may(need) {
        return Err(ApiError::role_forbids(need).with_detail(format!(
            "{} needs {:?} on {uuid}",
            role.as_str(),
            need
        )));
    }
    Ok((cradle, role))
}

impl<R: Requirement> FromRequestParts<AppState> for MemberOf<R> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        let uuid = path_uuid(parts, state).await?;
        let (cradle, role) = cradle_for(state, &uuid, user.user_id, R::NEED)?;
        Ok(MemberOf {
            user,
            cradle,
            role,
            _need: PhantomData,
        })
    }
}

/// Cookie session or `?token=` (from `/api/media_token/<uuid>`), checked
/// against a cradle once it is known (from the path, or from the recorded
/// frame or alert a handler looked up). Either way the media is served only
/// while the session behind it lasts. With neither, the cradle's owner may
/// have allowed the Smart Cradle app's live view from the address of a
/// household device.
pub struct MediaAuth {
    session: Option<Session>,
    token: Option<String>,
    peer: Option<IpAddr>,
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
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip());
        let session = match CurrentUser::from_request_parts(parts, state).await {
            Ok(CurrentUser(s)) => Some(s),
            // A stale cookie with a token still works by the token; no
            // cookie at all may still be the app's live view.
            Err(_) if token.is_some() || session_token(parts).is_none() => None,
            Err(e) => return Err(e),
        };
        Ok(MediaAuth {
            session,
            token,
            peer,
        })
    }
}

/// A cradle's media, granted to a live session.
pub struct MediaAccess {
    pub cradle: Arc<CradleLive>,
    /// The public id of the session the access hangs on.
    pub session: String,
    /// Whose session that is.
    pub user_id: i64,
    /// Granted by the owner's app live-view switch (no cookie, no token):
    /// ends when the switch goes off.
    pub via_lan_app_view: bool,
}

impl MediaAuth {
    /// The cradle if the session's user, or the token's, may watch it: 401
    /// for a bad token or one whose session has ended, 404 for a cradle that
    /// is not theirs.
    pub async fn require_watcher(
        &self,
        state: &AppState,
        uuid: &str,
    ) -> Result<MediaAccess, ApiError> {
        self.watcher(state, uuid, false).await
    }

    /// Like [`MediaAuth::require_watcher`], and with neither cookie nor
    /// token, the owner's app live-view switch may grant it: only for what
    /// the Smart Cradle app shows (the live view and recorded frames).
    pub async fn require_watcher_or_household_device(
        &self,
        state: &AppState,
        uuid: &str,
    ) -> Result<MediaAccess, ApiError> {
        self.watcher(state, uuid, true).await
    }

    /// 401 at once for a request with neither cookie nor token, before
    /// anything is looked up for it.
    pub fn require_credentials(&self) -> Result<(), ApiError> {
        if self.session.is_none() && self.token.is_none() {
            return Err(ApiError::unauthorized());
        }
        Ok(())
    }

    async fn watcher(
        &self,
        state: &AppState,
        uuid: &str,
        household_device: bool,
    ) -> Result<MediaAccess, ApiError> {
        let (user_id, session) = match (&self.session, &self.token) {
            (Some(s), _) => (s.user_id, s.public_id.clone()),
            (None, Some(token)) => {
                let grant = state
                    .signer
                    .verify(token, uuid, now_millis())
                    .ok_or_else(ApiError::unauthorized)?;
                if !state.sessions.is_live(&grant.session).await? {
                    return Err(
                        ApiError::unauthorized().with_detail("media token of an ended session")
                    );
                }
                (grant.user_id, grant.session)
            }
            (None, None) if household_device => {
                return self.household_device_grant(state, uuid).await;
            }
            (None, None) => return Err(ApiError::unauthorized()),
        };
        let (cradle, _) = cradle_for(state, uuid, user_id, Need::Watch)?;
        Ok(MediaAccess {
            cradle,
            session,
            user_id,
            via_lan_app_view: false,
        })
    }

    /// A request without cookie or token (the Smart Cradle app's WebView on
    /// iOS sends neither): served when the owner allowed it and it comes
    /// from the address of a device with a live session of a member.
    async fn household_device_grant(
        &self,
        state: &AppState,
        uuid: &str,
    ) -> Result<MediaAccess, ApiError> {
        let (Some(peer), Some(cradle)) = (self.peer, state.live.get(uuid)) else {
            return Err(ApiError::unauthorized());
        };
        if !cradle.lan_app_view() {
            return Err(ApiError::unauthorized());
        }
        // "On this network": never for an address from the internet (a
        // forwarded port), whatever session last came from it.
        if crate::notify::endpoint::is_public_ip(peer) {
            return Err(ApiError::unauthorized()
                .with_detail(format!("app live view asked from a public address {peer}")));
        }
        let household = cradle.clone();
        let device = state
            .sessions
            .live_at_ip(peer, move |user| household.role_of(user).is_some())
            .await?;
        let Some((user_id, session, username)) = device else {
            return Err(
                ApiError::unauthorized().with_detail(format!("no household session from {peer}"))
            );
        };
        tracing::info!(
            uuid,
            %peer,
            user_id,
            user = username,
            "app live view: cookie-less media request served to a household device's address"
        );
        Ok(MediaAccess {
            cradle,
            session,
            user_id,
            via_lan_app_view: true,
        })
    }
}

/// Like [`MemberOf<Watch>`] but also accepts `?token=` ([`MediaAuth`]), for
/// `<img>` and `<video>` elements that cannot send the cookie.
pub struct MediaCradle {
    pub cradle: Arc<CradleLive>,
    /// The public id of the session the access hangs on.
    pub session: String,
    pub user_id: i64,
    pub via_lan_app_view: bool,
}

impl FromRequestParts<AppState> for MediaCradle {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let uuid = path_uuid(parts, state).await?;
        let auth = MediaAuth::from_request_parts(parts, state).await?;
        let MediaAccess {
            cradle,
            session,
            user_id,
            via_lan_app_view,
        } = auth
            .require_watcher_or_household_device(state, &uuid)
            .await?;
        Ok(MediaCradle {
            cradle,
            session,
            user_id,
            via_lan_app_view,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::is_json_content_type;

    #[test]
    fn json_content_types() {
        for ok in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/merge-patch+json",
        ] {
            assert!(is_json_content_type(ok), "{ok}");
        }
        for refused in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "",
            "application/jsonp",
        ] {
            assert!(!is_json_content_type(refused), "{refused}");
        }
    }
}
