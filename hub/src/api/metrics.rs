//! `GET /metrics` for Prometheus, and the layer that counts HTTP requests
//! by route. The home's readings are not public: a signed-in user or the
//! configured bearer token (`--metrics-token`) may read them.

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::i18n::Msg;
use crate::metrics::CONTENT_TYPE;

use super::{ApiError, AppState, CurrentUser};

/// Someone allowed to read the metrics. A bearer token, when sent, decides
/// alone: a wrong one is refused even with a session cookie, so a
/// misconfigured scraper fails loudly.
pub struct MetricsReader;

impl FromRequestParts<AppState> for MetricsReader {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(presented) = bearer_token(&parts.headers) {
            return if state.metrics.accepts_token(presented) {
                Ok(MetricsReader)
            } else {
                Err(ApiError::unauthorized().with_detail("wrong metrics bearer token"))
            };
        }
        CurrentUser::from_request_parts(parts, state).await?;
        Ok(MetricsReader)
    }
}

/// The token of `Authorization: Bearer <token>`; other schemes are not ours.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim_start().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

pub async fn metrics(
    State(state): State<AppState>,
    _reader: MetricsReader,
) -> Result<Response, ApiError> {
    let metrics = state.metrics.clone();
    let internal = |detail: String| {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, Msg::Internal).with_detail(detail)
    };
    let text = tokio::task::spawn_blocking(move || metrics.render())
        .await
        .map_err(|e| internal(format!("metrics: {e}")))?
        .map_err(|_| internal("metrics: encoding failed".into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response())
}

/// Counts each answer by method, the route pattern it matched (never the
/// raw path) and its status.
pub async fn count_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().cloned();
    let method = req.method().clone();
    let res = next.run(req).await;
    state.metrics.http().count(
        method.as_str(),
        route.as_ref().map(MatchedPath::as_str),
        res.status().as_u16(),
    );
    res
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn with_authorization(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn the_bearer_token_is_read_from_the_authorization_header() {
        assert_eq!(
            bearer_token(&with_authorization("Bearer abc123")),
            Some("abc123")
        );
        assert_eq!(
            bearer_token(&with_authorization("bearer  abc123 ")),
            Some("abc123")
        );
        assert_eq!(
            bearer_token(&with_authorization("Basic dXNlcjpwdw==")),
            None
        );
        assert_eq!(bearer_token(&with_authorization("Bearer")), None);
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }
}
