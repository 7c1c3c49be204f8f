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

/// What the hub's page may call. Not `set_mode`: the hub is reached over
/// plain HTTP on the LAN, so whoever can pose as it could otherwise repoint
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

pub fn show_main(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(MAIN) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
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
