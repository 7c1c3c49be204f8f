//! The hub itself: health, this spec, the local CA, its address and QR
//! codes.

use utoipa::ToSchema;

use super::common::{ErrorBody, Language};

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum HealthStatus {
    Ok,
    Degraded,
}

/// What monitors and the desktop app read. The nested objects carry
/// counters whose names may grow; only the top level is fixed here.
#[derive(ToSchema)]
pub struct Health {
    pub status: HealthStatus,
    /// One plain line per problem; empty when `ok`.
    pub problems: Vec<String>,
    pub hub: String,
    /// `ok`, `error` or `disk full`.
    pub database: String,
    /// `connected`, `disconnected` or `stopped`.
    pub mqtt: String,
    #[schema(required = true)]
    pub mqtt_broker: Option<String>,
    /// `endpoint` (the hub's own) or `external`.
    pub mqtt_mode: String,
    pub mqtt_reconnects: u64,
    #[schema(required = true, value_type = Option<Object>)]
    pub mqtt_endpoint: Option<serde_json::Value>,
    pub cradles: u64,
    pub uptime_seconds: u64,
    #[schema(value_type = Object)]
    pub ingest: serde_json::Value,
    pub recording: String,
    #[schema(value_type = Object)]
    pub store: serde_json::Value,
    #[schema(value_type = Object)]
    pub tasks: serde_json::Value,
    pub unsaved_alerts: u64,
    #[schema(required = true, value_type = Option<Object>)]
    pub disk: Option<serde_json::Value>,
    pub connected_cradles: u64,
    #[schema(required = true, format = DateTime)]
    pub last_ingest: Option<String>,
    pub version: String,
}

#[derive(ToSchema)]
pub struct HubInfo {
    /// Addresses other devices can reach the hub at.
    pub urls: Vec<String>,
    #[schema(required = true)]
    pub mqtt_port: Option<u16>,
    pub version: String,
    pub default_language: Language,
    /// `off`, `self-signed` or `files`.
    pub tls: String,
    /// The https addresses, when TLS is on (else empty).
    pub https_urls: Vec<String>,
    /// SHA-256 of the local CA certificate (hex), with `--tls self-signed`.
    #[schema(required = true)]
    pub ca_sha256: Option<String>,
}

#[derive(ToSchema)]
pub struct QrText {
    pub text: String,
}

/// Hub, database and MQTT state.
#[utoipa::path(get, path = "/health", tag = "hub",
    responses(
        (status = 200, description = "Healthy", body = Health),
        (status = 503, description = "Degraded: the reasons are in `problems`", body = Health),
    ))]
pub fn health() {}

/// Counters and gauges for Prometheus, in its text format 0.0.4: ingest
/// (frames, readings, drops by reason), MQTT connections, viewers, alerts by
/// type, the store's queue and commit times, HTTP requests by route and
/// status, and the process's resident memory (on Linux).
#[utoipa::path(get, path = "/metrics", tag = "hub",
    security(("cradle_session" = []), ("metrics_token" = [])),
    responses(
        (status = 200, description = "Prometheus text format 0.0.4",
            body = String, content_type = "text/plain"),
        (status = 401, description = "Not logged in and no bearer token, or a wrong one", body = ErrorBody),
    ))]
pub fn metrics() {}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "hub",
    responses((status = 200, description = "OpenAPI 3.1", body = Object)))]
pub fn openapi_json() {}

/// The hub's local CA certificate (PEM), when it serves HTTPS with its own.
#[utoipa::path(get, path = "/ca.crt", tag = "hub",
    responses(
        (status = 200, description = "PEM", body = String, content_type = "application/x-x509-ca-cert"),
        (status = 404, description = "The hub does not serve HTTPS with its own CA", body = ErrorBody),
    ))]
pub fn ca_cert() {}

/// How to trust the local CA on a phone, with its fingerprint.
#[utoipa::path(get, path = "/ca", tag = "hub",
    params(("lang" = Option<String>, Query, description = "`en` or `ko`; otherwise Accept-Language")),
    responses(
        (status = 200, description = "An HTML page", body = String, content_type = "text/html"),
        (status = 404, description = "The hub does not serve HTTPS with its own CA", body = ErrorBody),
    ))]
pub fn ca_page() {}

/// The hub's addresses, MQTT port, version and default language.
#[utoipa::path(get, path = "/api/hub_info", tag = "hub",
    responses((status = 200, description = "Hub info", body = HubInfo)))]
pub fn hub_info() {}

/// A QR code of `text` (default: the hub's LAN address) as SVG.
#[utoipa::path(get, path = "/api/hub_qr.svg", tag = "hub",
    params(("text" = Option<String>, Query, min_length = 1, max_length = 128,
        description = "1 to 512 bytes of UTF-8 (so 128 characters always fit)")),
    responses(
        (status = 200, description = "SVG", body = String, content_type = "image/svg+xml"),
        (status = 400, description = "text empty, too long, or too long for a QR code", body = ErrorBody),
    ))]
pub fn hub_qr_svg() {}

/// Reads a cradle's QR code from a camera frame or photo.
#[utoipa::path(post, path = "/api/qr/decode", tag = "cradles",
    request_body(description = "The image (JPEG or PNG), at most 8 MiB",
        content(("image/jpeg"), ("image/png"), ("application/octet-stream"))),
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "The QR text", body = QrText),
        (status = 400, description = "Empty body", body = ErrorBody),
        (status = 413, description = "Too large", body = ErrorBody),
        (status = 415, description = "A Content-Type that is not an image", body = ErrorBody),
        (status = 422, description = "Not an image, or no QR code found", body = ErrorBody),
        (status = 503, description = "Both decoders busy: try again (Retry-After)", body = ErrorBody),
    ))]
pub fn qr_decode() {}
