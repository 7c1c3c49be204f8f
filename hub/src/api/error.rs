//! The API's one error type: a status, a message people read (rendered in
//! their language by [`localize`]) and a detail that only goes to the log.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::auth::AuthError;
use crate::i18n::{Msg, request_lang};
use crate::motor::{MotorError, Refusal};
use crate::mqtt::ServoError;
use crate::notify::endpoint::EndpointError;
use crate::store::StoreError;

use super::AppState;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub msg: Msg,
    /// Logged, never sent.
    pub detail: Option<String>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, msg: Msg) -> ApiError {
        ApiError {
            status,
            msg,
            detail: None,
            retry_after: None,
        }
    }
    pub fn bad_request(msg: Msg) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, msg)
    }
    pub fn unauthorized() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, Msg::NotLoggedIn)
    }
    pub fn cradle_not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, Msg::CradleNotFound)
    }
    /// 429 with the seconds to wait.
    pub fn too_many(msg: Msg, retry_after_secs: u64) -> ApiError {
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, msg).with_retry_after(retry_after_secs)
    }
    /// 403: the user's role on the cradle does not allow what was asked.
    pub fn role_forbids(need: crate::household::Need) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, Msg::RoleForbids(need))
    }
    pub fn not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, Msg::NotFound)
    }
    pub fn with_detail(mut self, detail: impl Into<String>) -> ApiError {
        self.detail = Some(detail.into());
        self
    }
    /// Seconds the client should wait before trying again (429, 503).
    pub fn with_retry_after(mut self, secs: u64) -> ApiError {
        self.retry_after = Some(secs);
        self
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Busy => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, Msg::Busy)
                .with_detail("store queue full"),
            e if e.is_disk_full() => ApiError::new(StatusCode::INSUFFICIENT_STORAGE, Msg::DiskFull)
                .with_detail(e.to_string()),
            other => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, Msg::Internal)
                .with_detail(other.to_string()),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> ApiError {
        match e {
            AuthError::Store(s) => s.into(),
            AuthError::Busy => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, Msg::HashingBusy)
                .with_detail("password hashing queue full")
                .with_retry_after(1),
            other => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, Msg::Internal)
                .with_detail(other.to_string()),
        }
    }
}

impl From<EndpointError> for ApiError {
    fn from(e: EndpointError) -> ApiError {
        ApiError::bad_request(match e {
            EndpointError::Invalid => Msg::InvalidField("endpoint"),
            EndpointError::NotHttps => Msg::PushEndpointNotHttps,
            EndpointError::NotPublic => Msg::PushEndpointNotPublic,
            EndpointError::Port => Msg::PushEndpointPort,
        })
    }
}

impl From<MotorError> for ApiError {
    fn from(e: MotorError) -> ApiError {
        match e {
            MotorError::Refused(refusal) => {
                let msg = match refusal {
                    Refusal::TooMany { .. } => Msg::TooManyMotorCommands,
                    Refusal::TooSoonAfterStop { .. } => Msg::MotorRestartTooSoon,
                };
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, msg)
                    .with_retry_after((refusal.retry_after_ms().max(1) as u64).div_ceil(1000))
            }
            MotorError::NotSent(e) => {
                let msg = match e {
                    ServoError::Endpoint(_) => Msg::CradleNotConnected,
                    ServoError::Broker(_) => Msg::MotorUnavailable,
                };
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, msg).with_detail(e.to_string())
            }
        }
    }
}

/// Marker carried by an error response until [`localize`] writes its body.
#[derive(Clone, Copy)]
struct PendingMessage(Msg);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(status = %self.status, detail = self.detail.as_deref().unwrap_or(""), "api: request failed");
        } else if let Some(detail) = &self.detail {
            tracing::debug!(status = %self.status, detail, "api: request refused");
        }
        let mut res = Response::new(Body::empty());
        *res.status_mut() = self.status;
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res.extensions_mut().insert(PendingMessage(self.msg));
        res
    }
}

/// axum's own refusals (a query or path that does not parse, a body over the
/// limit, a method the route lacks) are plain text; they get the same JSON
/// shape as every other error. Their text goes to the debug log only.
fn framework_rejection(res: &Response) -> Option<Msg> {
    let status = res.status();
    if !status.is_client_error() {
        return None;
    }
    let plain_text = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"));
    if !plain_text {
        return None;
    }
    let msg = match status {
        StatusCode::PAYLOAD_TOO_LARGE => Msg::BodyTooLarge,
        StatusCode::METHOD_NOT_ALLOWED => Msg::MethodNotAllowed,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Msg::UnsupportedContentType,
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => Msg::MalformedRequest,
        _ => return None,
    };
    tracing::debug!(%status, "api: request refused by the router or an extractor");
    Some(msg)
}

/// Renders every error body in the request's language. Existing clients read
/// `message` on some screens and `error` on others; `success` and `status`
/// cover both styles of the contract.
pub async fn localize(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let lang = request_lang(&parts, state.default_lang.0);
    let mut res = next.run(Request::from_parts(parts, body)).await;
    let pending = res
        .extensions_mut()
        .remove::<PendingMessage>()
        .map(|PendingMessage(msg)| msg)
        .or_else(|| framework_rejection(&res));
    if let Some(msg) = pending {
        let text = msg.text(lang);
        let body = json!({"success": false, "status": "error", "message": text, "error": text});
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        res.headers_mut().remove(header::CONTENT_LENGTH);
        *res.body_mut() = Body::from(body.to_string());
    }
    res
}
