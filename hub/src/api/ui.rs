//! The web UI (`ui/`), embedded at compile time so a headless hub is one
//! file; `--ui-dir` serves it from disk instead while developing.

use std::path::{Component, Path as FsPath};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use include_dir::{Dir, include_dir};

use super::{ApiError, AppState};

static UI: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../ui");

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" | "webmanifest" => "application/json",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// Serves `ui/` for any GET that no API route took; everything else is 404.
pub async fn fallback(State(state): State<AppState>, req: Request) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return ApiError::not_found().into_response();
    }
    let raw = req.uri().path().trim_start_matches('/');
    let path = if raw.is_empty() { "index.html" } else { raw };
    let safe = FsPath::new(path)
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    if !safe || path.starts_with("api/") {
        return ApiError::not_found().into_response();
    }
    let bytes: Option<Body> = match &state.ui_dir {
        Some(dir) => tokio::fs::read(dir.join(path)).await.ok().map(Body::from),
        None => UI.get_file(path).map(|f| Body::from(f.contents())),
    };
    let Some(body) = bytes else {
        return ApiError::not_found().into_response();
    };
    let mut res = body.into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(path)),
    );
    // Always revalidate: a hub upgrade must never leave an old UI cached.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    res
}
