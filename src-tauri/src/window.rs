//! The main window: where it points, bringing it back, opening an alert.

use std::sync::Arc;

use tauri::ipc::CapabilityBuilder;
use tauri::{AppHandle, Manager, Url};

use crate::state::{Shared, Status};

pub const MAIN: &str = "main";

/// Reports the UI's language to the app: the page sets `<html lang>`, the
/// app's notifications follow it. Runs in every page; does something only
/// on the hub's page (http/https), and only where the app's commands exist.
pub const LANG_SCRIPT: &str = r#"(() => {
  if (window.top !== window || !/^https?:$/.test(location.protocol)) return;
  let last = '';
  const report = () => {
    const lang = document.documentElement.lang;
    const ipc = window.__TAURI_INTERNALS__;
    if (!lang || lang === last || !ipc) return;
    last = lang;
    ipc.invoke('set_language', { lang }).catch(() => {});
  };
  const start = () => {
    report();
    new MutationObserver(report).observe(document.documentElement, { attributes: true, attributeFilter: ['lang'] });
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();"#;

/// The hub answers: let its page call the app's commands, and show it.
pub fn hub_ready(app: &AppHandle, shared: &Arc<Shared>, hub_url: &str) {
    allow_commands_from(app, hub_url);
    // Before navigating: the navigation guard lets the window go only where
    // this says.
    shared.set_hub_url(hub_url);
    shared.set_status(Status::Ready {
        hub_url: hub_url.to_owned(),
    });
    navigate(app, &format!("{hub_url}/"));
}

/// What the hub's page may call. Not `set_mode`: the hub may be reached
/// over plain HTTP on the LAN, so whoever can pose as it could otherwise repoint
/// the app to a hub of theirs for good. Not `decode_qr` either: only the
/// app's own start page reads QR photos.
pub const HUB_PAGE_COMMANDS: [&str; 2] = ["get_mode", "set_language"];

/// Tauri treats the hub's page as a remote origin: grant it the few
/// commands it uses, for exactly this origin.
fn allow_commands_from(app: &AppHandle, hub_url: &str) {
    let capability = HUB_PAGE_COMMANDS.iter().fold(
        CapabilityBuilder::new("hub-page")
            .remote(format!("{hub_url}/*"))
            .window(MAIN),
        |capability, command| capability.permission(format!("allow-{}", command.replace('_', "-"))),
    );
    if let Err(e) = app.add_capability(capability) {
        tracing::warn!(error = %e, "the hub's page cannot call the app's commands");
    }
}

/// The app's own bundled pages: `tauri://localhost` (Linux, macOS), or
/// `http(s)://tauri.localhost` (Windows).
fn is_app_page(url: &Url) -> bool {
    match url.scheme() {
        "tauri" => url.host_str() == Some("localhost"),
        "http" | "https" => url.host_str() == Some("tauri.localhost"),
        _ => false,
    }
}

/// The window shows the app's own pages and the hub's origin, nothing
/// else: a link, a redirect or a script of a page must not take it (and
/// the IPC it carries) to a site of someone else's.
pub fn navigation_allowed(target: &Url, hub_url: Option<&str>) -> bool {
    if is_app_page(target) {
        return true;
    }
    hub_url
        .and_then(|hub| Url::parse(hub).ok())
        .is_some_and(|hub| hub.origin() == target.origin())
}

/// For the log: where a refused navigation was going, without its path
/// and query (which may carry tokens).
pub fn origin_for_log(url: &Url) -> String {
    let origin = url.origin();
    if origin.is_tuple() {
        origin.ascii_serialization()
    } else {
        format!("{}:", url.scheme())
    }
}

pub fn navigate(app: &AppHandle, url: &str) {
    let Some(window) = app.get_webview_window(MAIN) else {
        return;
    };
    match Url::parse(url) {
        Ok(url) => {
            if let Err(e) = window.navigate(url) {
                tracing::warn!(error = %e, "window: cannot navigate");
            }
        }
        Err(e) => tracing::warn!(url, error = %e, "window: bad URL"),
    }
}

/// Tells the window's WebKitGTK to accept `leaf_pem` — the TLS hub's own
/// certificate, already verified against its pinned CA by `client` (which
/// trusts that CA only) — for the hub's host. WebKitGTK pins a server
/// certificate per host (`webkit_web_context_allow_tls_certificate_for_host`),
/// not a CA, and knows nothing of the hub's CA otherwise. The hub issues a
/// new server certificate when its addresses change: a page of the hub that
/// then fails with a TLS error is loaded again once `client`'s own handshake
/// (verified against the pinned CA) shows the very certificate WebKitGTK
/// was presented.
pub fn trust_certificate(
    app: &AppHandle,
    hub_url: &str,
    leaf_pem: &str,
    client: &reqwest::Client,
) -> Result<(), String> {
    let host = Url::parse(hub_url)
        .ok()
        .and_then(|u| u.host_str().map(|h| h.trim_matches(['[', ']']).to_owned()))
        .ok_or_else(|| format!("{hub_url} has no host"))?;
    let window = app
        .get_webview_window(MAIN)
        .ok_or("the main window is gone")?;
    trust_on(
        &window,
        Trust {
            app: app.clone(),
            hub_url: hub_url.to_owned(),
            host,
            leaf_pem: leaf_pem.to_owned(),
            client: client.clone(),
        },
    )
}

struct Trust {
    app: AppHandle,
    hub_url: String,
    host: String,
    leaf_pem: String,
    client: reqwest::Client,
}

#[cfg(target_os = "linux")]
mod webkit {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// The server certificate (DER) WebKitGTK was last told to accept.
    static ACCEPTED: parking_lot::Mutex<Option<Vec<u8>>> = parking_lot::Mutex::new(None);
    static WATCHING: AtomicBool = AtomicBool::new(false);

    pub(super) fn trust_on(window: &tauri::WebviewWindow, trust: Trust) -> Result<(), String> {
        window
            .with_webview(move |webview| {
                use webkit2gtk::{WebContextExt, WebViewExt};
                let view = webview.inner();
                let Some(context) = view.context() else {
                    tracing::warn!("window: the webview has no context");
                    return;
                };
                let cert = match gio::TlsCertificate::from_pem(&trust.leaf_pem) {
                    Ok(cert) => cert,
                    Err(e) => {
                        tracing::warn!(error = %e, "window: the hub's certificate is unreadable");
                        return;
                    }
                };
                context.allow_tls_certificate_for_host(&cert, &trust.host);
                *ACCEPTED.lock() = crate::pin::pem_to_der(&trust.leaf_pem).ok();
                tracing::info!(host = %trust.host, "window: the hub's certificate is accepted");
                if !WATCHING.swap(true, Ordering::SeqCst) {
                    view.connect_load_failed_with_tls_errors(
                        move |_view, uri, presented, _flags| {
                            on_tls_error(&trust, uri, presented);
                            false
                        },
                    );
                }
            })
            .map_err(|e| e.to_string())
    }

    fn on_tls_error(trust: &Trust, uri: &str, presented: &gio::TlsCertificate) {
        use gio::prelude::TlsCertificateExt;
        let Ok(target) = Url::parse(uri) else { return };
        let same_hub = Url::parse(&trust.hub_url).is_ok_and(|hub| hub.origin() == target.origin());
        let presented = presented
            .certificate_pem()
            .and_then(|pem| crate::pin::pem_to_der(&pem).ok());
        let Some(presented) = presented.filter(|_| same_hub) else {
            return;
        };
        if ACCEPTED.lock().as_deref() == Some(presented.as_slice()) {
            tracing::warn!(to = %origin_for_log(&target), "window: TLS error with the accepted certificate");
            return;
        }
        let (app, hub_url, client) = (
            trust.app.clone(),
            trust.hub_url.clone(),
            trust.client.clone(),
        );
        tauri::async_runtime::spawn(async move {
            match crate::remote::server_certificate(&client, &hub_url).await {
                Ok(leaf)
                    if crate::pin::pem_to_der(&leaf).ok().as_deref()
                        == Some(presented.as_slice()) =>
                {
                    tracing::info!(
                        "window: the hub renewed its certificate (same CA): accepting it"
                    );
                    if let Err(e) = trust_certificate(&app, &hub_url, &leaf, &client) {
                        tracing::warn!(error = %e, "window: cannot accept the hub's certificate");
                    }
                    navigate(&app, target.as_str());
                }
                Ok(_) => {
                    tracing::warn!("window: refused a certificate the pinned CA does not vouch for")
                }
                Err(e) => tracing::warn!(error = %e, "window: cannot check the hub's certificate"),
            }
        });
    }
}

#[cfg(target_os = "linux")]
use webkit::trust_on;

#[cfg(not(target_os = "linux"))]
fn trust_on(_window: &tauri::WebviewWindow, _trust: Trust) -> Result<(), String> {
    Err("accepting a hub's own certificate is implemented for WebKitGTK (Linux) only".to_owned())
}

pub fn show_main(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(MAIN) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// Where the app's own pages are served from (see [`is_app_page`]).
const APP_ORIGIN: &str = if cfg!(windows) {
    "http://tauri.localhost"
} else {
    "tauri://localhost"
};

/// The start page with the choice of hub shown (its `#choose`), also while
/// a hub is in use: the tray's "Choose hub…". The hub in use stays until
/// another is chosen.
pub fn choose_hub(app: &AppHandle) {
    navigate(app, &format!("{APP_ORIGIN}/index.html#choose"));
    show_main(app);
}

/// A click on an alert's notification: the alert's page in the window, in front.
pub fn open_alert(app: &AppHandle, hub_url: &str, id: i64) {
    tracing::info!(alert = id, "notification clicked: opening the alert");
    navigate(app, &format!("{hub_url}/#/alerts/{id}"));
    show_main(app);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("test URL")
    }

    #[test]
    fn navigation_stays_on_the_app_and_the_hub() {
        let hub = Some("http://192.168.1.20:8080");
        for allowed in [
            "tauri://localhost/index.html",
            "tauri://localhost/",
            "http://tauri.localhost/index.html",
            "http://192.168.1.20:8080/",
            "http://192.168.1.20:8080/#/alerts/7",
            "http://192.168.1.20:8080/login?next=x",
        ] {
            assert!(navigation_allowed(&url(allowed), hub), "{allowed}");
        }
        for refused in [
            "http://192.168.1.20:8081/",
            "https://192.168.1.20:8080/",
            "http://192.168.1.21:8080/",
            "http://evil.example/",
            "tauri://evil/",
            "file:///etc/passwd",
            "about:blank",
            "data:text/html,<p>hi</p>",
            "javascript:alert(1)",
        ] {
            assert!(!navigation_allowed(&url(refused), hub), "{refused}");
        }
    }

    #[test]
    fn a_tls_hub_is_its_https_origin_only() {
        let hub = Some("https://192.168.1.20:8443");
        assert!(navigation_allowed(&url("https://192.168.1.20:8443/"), hub));
        assert!(navigation_allowed(
            &url("https://192.168.1.20:8443/#/alerts/3"),
            hub
        ));
        // Not its plain HTTP (which only redirects), nor another port.
        assert!(!navigation_allowed(&url("http://192.168.1.20:8443/"), hub));
        assert!(!navigation_allowed(&url("https://192.168.1.20:8444/"), hub));
    }

    #[test]
    fn the_choice_of_hub_is_an_app_page() {
        assert!(is_app_page(&url(&format!(
            "{APP_ORIGIN}/index.html#choose"
        ))));
    }

    #[test]
    fn before_the_hub_is_known_only_the_app_pages() {
        assert!(navigation_allowed(
            &url("tauri://localhost/index.html"),
            None
        ));
        assert!(!navigation_allowed(&url("http://127.0.0.1:8080/"), None));
        // A default port written out or left off is the same origin.
        assert!(navigation_allowed(
            &url("http://hub.local/"),
            Some("http://hub.local:80")
        ));
    }

    #[test]
    fn the_hub_page_cannot_switch_the_app() {
        assert!(!HUB_PAGE_COMMANDS.contains(&"set_mode"));
        assert!(!HUB_PAGE_COMMANDS.contains(&"decode_qr"));
        assert!(HUB_PAGE_COMMANDS.contains(&"set_language"));
    }

    #[test]
    fn refused_origins_are_logged_without_path() {
        assert_eq!(
            origin_for_log(&url("http://evil.example:81/a?token=secret")),
            "http://evil.example:81"
        );
        assert_eq!(origin_for_log(&url("data:text/html,secret")), "data:");
    }
}
