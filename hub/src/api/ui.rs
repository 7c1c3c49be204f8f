//! The web UI (`ui/`), embedded at compile time so a headless hub is one
//! file; `--ui-dir` serves it from disk instead while developing.

use std::path::{Component, Path as FsPath};
use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use include_dir::{Dir, include_dir};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{ApiError, AppState};

static UI: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../ui");

/// The service worker, at the root so that its scope is the whole hub (no
/// `Service-Worker-Allowed` header needed).
const SERVICE_WORKER: &str = "sw.js";

/// Where `sw.js` expects the hub to write the UI's version and file list.
const SW_BUILD_PLACEHOLDER: &str = "/* hub:build */ { version: 'unbuilt', shell: [] }";

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
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
        Some(dir) if path == SERVICE_WORKER => {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || service_worker_from_disk(&dir))
                .await
                .ok()
                .flatten()
                .map(Body::from)
        }
        Some(dir) => tokio::fs::read(dir.join(path)).await.ok().map(Body::from),
        None if path == SERVICE_WORKER => embedded_service_worker().map(Body::from),
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

/// What the service worker keeps for when the hub cannot be reached: every
/// file of the UI but the worker itself, and a hash of them all that names
/// its cache.
#[derive(Serialize)]
struct ShellBuild {
    version: String,
    shell: Vec<String>,
}

/// `files` are (path relative to ui/, contents).
fn shell_build<'a>(files: impl IntoIterator<Item = (String, &'a [u8])>) -> ShellBuild {
    let mut files: Vec<_> = files
        .into_iter()
        .filter(|(path, _)| path != SERVICE_WORKER)
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let mut hash = Sha256::new();
    for (path, contents) in &files {
        hash.update(path.as_bytes());
        hash.update((contents.len() as u64).to_le_bytes());
        hash.update(contents);
    }
    let version = hash.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    ShellBuild {
        version,
        shell: files
            .into_iter()
            .map(|(path, _)| format!("/{path}"))
            .collect(),
    }
}

/// `sw.js` with the UI's version and files written in: any change to the UI
/// changes the worker's bytes, so browsers install it afresh (new cache, old
/// one dropped). None if `sw.js` lost its placeholder.
fn render_service_worker(source: &str, build: &ShellBuild) -> Option<String> {
    if !source.contains(SW_BUILD_PLACEHOLDER) {
        tracing::warn!("ui/sw.js has no build placeholder: the offline cache would never refresh");
        return None;
    }
    let json = serde_json::to_string(build).ok()?;
    Some(source.replacen(SW_BUILD_PLACEHOLDER, &json, 1))
}

fn embedded_service_worker() -> Option<&'static str> {
    static RENDERED: OnceLock<Option<String>> = OnceLock::new();
    RENDERED
        .get_or_init(|| {
            let source = UI.get_file(SERVICE_WORKER)?.contents_utf8()?;
            let mut files = Vec::new();
            embedded_files(&UI, &mut files);
            render_service_worker(source, &shell_build(files))
        })
        .as_deref()
}

fn embedded_files(dir: &'static Dir<'static>, out: &mut Vec<(String, &'static [u8])>) {
    for file in dir.files() {
        out.push((url_path(file.path()), file.contents()));
    }
    for sub in dir.dirs() {
        embedded_files(sub, out);
    }
}

/// `--ui-dir`: read afresh on every request, as the other files are.
fn service_worker_from_disk(root: &FsPath) -> Option<String> {
    let source = std::fs::read_to_string(root.join(SERVICE_WORKER)).ok()?;
    let mut files = Vec::new();
    if let Err(e) = disk_files(root, root, &mut files) {
        tracing::warn!(dir = %root.display(), error = %e, "cannot list the UI folder for the service worker");
        return None;
    }
    let build = shell_build(files.iter().map(|(p, c)| (p.clone(), c.as_slice())));
    render_service_worker(&source, &build)
}

fn disk_files(
    root: &FsPath,
    dir: &FsPath,
    out: &mut Vec<(String, Vec<u8>)>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            disk_files(root, &path, out)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            out.push((url_path(relative), std::fs::read(&path)?));
        }
    }
    Ok(())
}

/// A path relative to ui/ as it appears in a URL (forward slashes on Windows too).
fn url_path(path: &FsPath) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_worker_lists_every_ui_file_and_a_version_of_their_contents() {
        let sw = embedded_service_worker().expect("ui/sw.js keeps its build placeholder");
        assert!(!sw.contains(SW_BUILD_PLACEHOLDER));
        let mut files = Vec::new();
        embedded_files(&UI, &mut files);
        let build = shell_build(files.clone());
        assert!(sw.contains(&serde_json::to_string(&build).unwrap()));
        for must in [
            "/index.html",
            "/offline.html",
            "/manifest.webmanifest",
            "/js/app.js",
            "/js/pwa.js",
            "/css/app.css",
            "/icons/icon-192.png",
        ] {
            assert!(build.shell.iter().any(|p| p == must), "{must} is precached");
        }
        assert!(!build.shell.iter().any(|p| p == "/sw.js"));
        assert_eq!(build.version.len(), 16);

        // Any change to any file is a new version, hence a new worker and cache.
        let changed: Vec<_> = files
            .iter()
            .map(|(p, c)| {
                (
                    p.clone(),
                    if p == "js/app.js" {
                        b"changed".as_slice()
                    } else {
                        *c
                    },
                )
            })
            .collect();
        assert_ne!(shell_build(changed).version, build.version);
    }

    #[test]
    fn pwa_files_get_the_types_browsers_require() {
        assert_eq!(
            content_type("manifest.webmanifest"),
            "application/manifest+json"
        );
        assert_eq!(content_type("sw.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("icons/icon-512.png"), "image/png");
    }
}
