//! `POST /api/qr/decode` (a cradle's QR from a camera frame or photo) and
//! the hub's own address as a QR code for phones on the LAN.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::i18n::Msg;
use crate::qr::{self, QrError};

use super::{ApiError, AppState, CurrentUser};

/// A picture, or bytes of no declared type (the image decoder tells).
fn is_image_upload(content_type: Option<&str>) -> bool {
    let Some(value) = content_type else {
        return true;
    };
    let essence = super::extract::media_type(value);
    let image = essence.len() > "image/".len()
        && essence
            .get(.."image/".len())
            .is_some_and(|p| p.eq_ignore_ascii_case("image/"));
    image || essence.eq_ignore_ascii_case("application/octet-stream")
}

pub async fn decode(
    State(state): State<AppState>,
    CurrentUser(_): CurrentUser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("?"));
    if !is_image_upload(content_type) {
        return Err(
            ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, Msg::NotAnImage)
                .with_detail(format!("content-type {content_type:?}")),
        );
    }
    if body.is_empty() {
        return Err(ApiError::bad_request(Msg::NotAnImage));
    }
    // Each waiting request would hold its photo (up to 8 MiB) in memory:
    // while both decoders are busy the answer is "try again", not a queue.
    let _permit = state.qr_decoders.try_acquire().map_err(|_| {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, Msg::Busy)
            .with_detail("both QR decoders busy")
            .with_retry_after(1)
    })?;
    let result = tokio::task::spawn_blocking(move || qr::decode(&body))
        .await
        .map_err(|e| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, Msg::Internal)
                .with_detail(e.to_string())
        })?;
    match result {
        Ok(text) => Ok(Json(json!({"text": text})).into_response()),
        Err(QrError::NoCode) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            Msg::NoQrCode,
        )),
        Err(QrError::NotAnImage) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            Msg::NotAnImage,
        )),
        Err(QrError::TooLarge) => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Msg::ImageTooLarge,
        )),
    }
}

fn hub_urls(state: &AppState, headers: &HeaderMap) -> Vec<String> {
    let port = state.http_addr.port();
    let mut urls = Vec::new();
    if !state.http_addr.ip().is_loopback()
        && let Some(ip) = crate::discovery::primary_lan_ip()
    {
        urls.push(format!("http://{ip}:{port}"));
    }
    if let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
        let url = format!("http://{host}");
        if !urls.contains(&url) {
            urls.push(url);
        }
    }
    urls
}

/// With TLS on, the same addresses over HTTPS (one port serves both).
fn https_urls(state: &AppState, headers: &HeaderMap) -> Vec<String> {
    if state.tls.is_none() {
        return Vec::new();
    }
    hub_urls(state, headers)
        .into_iter()
        .filter_map(|u| {
            u.strip_prefix("http://")
                .map(|rest| format!("https://{rest}"))
        })
        .collect()
}

/// The address a phone on the LAN opens the hub at: HTTPS when it is on.
pub(super) fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    https_urls(state, headers)
        .into_iter()
        .chain(hub_urls(state, headers))
        .next()
        .unwrap_or_else(|| format!("http://{}", state.http_addr))
}

/// What the settings QR says: the HTTPS address with the CA's fingerprint
/// when TLS is on (so an app can pin the CA it is about to trust), else
/// the plain address.
fn qr_text(state: &AppState, headers: &HeaderMap) -> String {
    let ca_sha256 = state.tls.as_ref().and_then(|t| t.ca_sha256());
    match (https_urls(state, headers).into_iter().next(), ca_sha256) {
        (Some(url), Some(fp)) => format!("{url}/?ca_sha256={fp}"),
        (Some(url), None) => url,
        (None, _) => hub_urls(state, headers)
            .into_iter()
            .next()
            .unwrap_or_default(),
    }
}

pub async fn hub_info(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let tls = state.tls.as_deref();
    Json(json!({
        "urls": hub_urls(&state, &headers),
        "mqtt_port": state.mqtt_port,
        "version": env!("CARGO_PKG_VERSION"),
        "default_language": state.default_lang.0.code(),
        "tls": tls.map_or("off", |t| t.mode.as_str()),
        "https_urls": https_urls(&state, &headers),
        "ca_sha256": tls.and_then(|t| t.ca_sha256()),
    }))
    .into_response()
}

#[derive(Deserialize)]
pub struct QrQuery {
    text: Option<String>,
}

/// An SVG QR code of `?text=` (default: the hub's LAN address, see [`qr_text`]).
pub async fn qr_svg(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<QrQuery>,
) -> Result<Response, ApiError> {
    let text = match q.text {
        Some(t) if !t.is_empty() && t.len() <= 512 => t,
        Some(_) => return Err(ApiError::bad_request(Msg::InvalidField("text"))),
        None => qr_text(&state, &headers),
    };
    let svg = qr::svg(&text).ok_or(ApiError::bad_request(Msg::InvalidField("text")))?;
    let mut res = svg.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml"),
    );
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::is_image_upload;

    #[test]
    fn image_uploads() {
        for ok in [
            None,
            Some("image/jpeg"),
            Some("IMAGE/png; q=1"),
            Some("application/octet-stream"),
        ] {
            assert!(is_image_upload(ok), "{ok:?}");
        }
        for refused in [
            Some("text/plain"),
            Some("application/json"),
            Some("image/"),
            Some("?"),
            Some("imag€/x"),
        ] {
            assert!(!is_image_upload(refused), "{refused:?}");
        }
    }
}
