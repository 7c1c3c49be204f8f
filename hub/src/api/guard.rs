//! Defence in depth for browsers: state-changing requests from other sites
//! are refused (beside the session cookie's SameSite=Lax), and every
//! response carries headers that confine what a page of the hub may load.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::i18n::Msg;

use super::ApiError;

/// The UI is buildless modules and stylesheets of its own: nothing inline,
/// nothing from elsewhere. Frames and clips are shown from `blob:`/`data:`
/// URLs, and no other site may frame the hub (clickjacking of the motor).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; worker-src 'self'; \
     manifest-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
     frame-ancestors 'none'";

/// Only the camera, for scanning a cradle's QR code on this page.
const PERMISSIONS_POLICY: &str = "camera=(self), microphone=(), geolocation=(), usb=(), \
     serial=(), bluetooth=(), payment=(), display-capture=()";

const SECURITY_HEADERS: [(HeaderName, &str); 6] = [
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    // Media URLs carry a token in their query: never hand it to another site.
    (header::REFERRER_POLICY, "no-referrer"),
    (
        HeaderName::from_static("permissions-policy"),
        PERMISSIONS_POLICY,
    ),
    (header::X_FRAME_OPTIONS, "DENY"),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    ),
];

pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    res
}

/// 403 for a state-changing request that a browser says came from another
/// site. Requests without `Origin` (the firmware, the mobile app, curl) are
/// not browsers' cross-site requests and pass.
pub async fn same_origin_only(req: Request, next: Next) -> Response {
    if let Some(reason) = cross_site_reason(req.method(), req.headers()) {
        return ApiError::new(StatusCode::FORBIDDEN, Msg::CrossSiteRequest)
            .with_detail(reason)
            .into_response();
    }
    next.run(req).await
}

/// Why a request counts as cross-site, if it does.
pub fn cross_site_reason(method: &Method, headers: &HeaderMap) -> Option<String> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    let text = |name: HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if text(HeaderName::from_static("sec-fetch-site")) == Some("cross-site") {
        return Some("sec-fetch-site: cross-site".into());
    }
    let origin = text(header::ORIGIN)?;
    let host = text(header::HOST).unwrap_or("");
    if same_authority(origin, host) {
        None
    } else {
        Some(format!("origin {origin:?} is not this hub ({host:?})"))
    }
}

/// Whether `origin` (`scheme://host[:port]`) names the same host and port as
/// the `Host` header, whose port may be left out when it is the scheme's
/// default.
fn same_authority(origin: &str, host_header: &str) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false; // "null" and other opaque origins
    };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => "80",
        "https" => "443",
        _ => return false,
    };
    let split = |authority: &str| -> Option<(String, String)> {
        let (host, port) = match authority.rsplit_once(':') {
            // An IPv6 literal without a port ends in `]`.
            Some((host, port)) if !port.ends_with(']') => (host, port),
            _ => (authority, default_port),
        };
        if host.is_empty() {
            return None;
        }
        Some((host.to_ascii_lowercase(), port.to_owned()))
    };
    match (split(authority), split(host_header)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn same_origin_posts_pass_and_other_sites_are_refused() {
        let ok = [
            headers(&[
                ("host", "192.168.1.5:8080"),
                ("origin", "http://192.168.1.5:8080"),
            ]),
            headers(&[("host", "hub.local"), ("origin", "https://HUB.local:443")]),
            headers(&[("host", "[::1]:8080"), ("origin", "http://[::1]:8080")]),
            headers(&[("host", "hub.local")]),
            headers(&[("host", "hub.local"), ("sec-fetch-site", "same-origin")]),
        ];
        for h in &ok {
            assert_eq!(cross_site_reason(&Method::POST, h), None, "{h:?}");
        }
        let refused = [
            headers(&[
                ("host", "192.168.1.5:8080"),
                ("origin", "http://evil.example"),
            ]),
            headers(&[
                ("host", "192.168.1.5:8080"),
                ("origin", "http://192.168.1.5:8081"),
            ]),
            headers(&[("host", "hub.local"), ("origin", "null")]),
            headers(&[
                ("host", "hub.local"),
                ("origin", "http://hub.local.evil.example"),
            ]),
            headers(&[("host", "hub.local"), ("sec-fetch-site", "cross-site")]),
            headers(&[("origin", "http://hub.local")]),
        ];
        for h in &refused {
            assert!(cross_site_reason(&Method::POST, h).is_some(), "{h:?}");
            assert!(cross_site_reason(&Method::DELETE, h).is_some(), "{h:?}");
        }
        // Reading is never refused here: the cookie and ownership decide.
        assert_eq!(cross_site_reason(&Method::GET, &refused[0]), None);
    }
}
