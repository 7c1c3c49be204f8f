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
    shared.set_status(Status::Ready {
        hub_url: hub_url.to_owned(),
    });
    navigate(app, &format!("{hub_url}/"));
}

/// Tauri treats the hub's page as a remote origin: grant it the app's own
/// commands (and nothing else) for exactly this origin.
fn allow_commands_from(app: &AppHandle, hub_url: &str) {
    let capability = CapabilityBuilder::new("hub-page")
        .remote(format!("{hub_url}/*"))
        .window(MAIN)
        .permission("allow-get-mode")
        .permission("allow-set-mode")
        .permission("allow-set-language")
        .permission("allow-decode-qr");
    if let Err(e) = app.add_capability(capability) {
        tracing::warn!(error = %e, "the hub's page cannot call the app's commands");
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
