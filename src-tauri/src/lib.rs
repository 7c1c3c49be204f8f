//! Cradle Hub desktop app: runs the hub in-process (home hub) or follows one
//! on the LAN (remote hub), shows the hub's UI in its window and raises a
//! native notification for every alert, also while the window is closed
//! (the app stays in the system tray).

mod commands;
mod home;
mod hub_watch;
mod lan;
mod mode;
mod notify;
mod pin;
mod relaunch;
mod remote;
mod sse;
mod state;
mod window;

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::webview::{NewWindowResponse, PageLoadEvent};
use tauri::{Manager, RunEvent, WebviewUrl, WebviewWindowBuilder, WindowEvent};

use crate::mode::Mode;
use crate::state::{Shared, Status};

static STARTED: OnceLock<Instant> = OnceLock::new();

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    // As the hub's binary: rumqttc reports every reconnect attempt.
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,rumqttc=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        // stderr: launchers (and WebDriver) often drop a GUI app's stdout.
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    STARTED.get_or_init(Instant::now);
    init_tracing();
    let built = tauri::Builder::default()
        // First, so that a second launch hands over before anything starts
        // (a second hub would only fail on its taken ports).
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            tracing::info!("launched again: bringing the window forward");
            window::show_main(app);
        }))
        .invoke_handler(tauri::generate_handler![
            commands::get_mode,
            commands::set_mode,
            commands::set_language,
            commands::decode_qr,
            commands::find_hubs,
        ])
        .setup(|app| {
            setup(app)?;
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing the window keeps the app (and its notifications) running in the tray.
            if let WindowEvent::CloseRequested { api, .. } = event
                && window.label() == window::MAIN
            {
                api.prevent_close();
                if let Err(e) = window.hide() {
                    tracing::warn!(error = %e, "window: cannot hide");
                }
            }
        })
        .build(tauri::generate_context!("../tauri.conf.json"));
    let app = match built {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "the app cannot start");
            std::process::exit(1);
        }
    };
    app.run(|_app, event| {
        // No window left is no reason to stop: notifications go on. Quit (tray) exits.
        if let RunEvent::ExitRequested {
            code: None, api, ..
        } = event
        {
            api.prevent_exit();
        }
    });
}

fn setup(app: &mut tauri::App) -> Result<(), Box<dyn std::error::Error>> {
    let paths = app.path();
    let store = mode::Store::new(&paths.app_config_dir()?);
    let hub_data_dir = paths.app_data_dir()?.join("hub");
    let saved = store.load();
    let env_remote = std::env::var(mode::REMOTE_ENV).ok();
    let (mode, from_env, env_error) = match mode::effective(&saved, env_remote.as_deref()) {
        Ok((mode, from_env)) => (mode, from_env, None),
        Err(e) => (saved.mode(), false, Some(e)),
    };
    tracing::info!(?mode, from_env, settings = %store.path().display(), "cradle-app starting");
    // Off with the hub's own mDNS switch (CRADLE_HUB_NO_MDNS, mdns = false).
    let mdns = home::hub_settings(&hub_data_dir).map_or(true, |s| s.mdns);
    app.manage(lan::Lan::new(mdns));
    let shared = Arc::new(Shared::new(
        mode.clone(),
        from_env,
        store,
        saved,
        hub_data_dir,
    ));
    app.manage(shared.clone());

    let first_hub_page = AtomicBool::new(false);
    let navigation_guard = shared.clone();
    WebviewWindowBuilder::new(app, window::MAIN, WebviewUrl::App("index.html".into()))
        .title(mode.window_title())
        .inner_size(1100.0, 760.0)
        .min_inner_size(360.0, 480.0)
        .initialization_script(window::LANG_SCRIPT)
        .on_navigation(move |url| {
            let allowed = window::navigation_allowed(url, navigation_guard.hub_url());
            if !allowed {
                // No browser hand-off: the app has no opener, and the hub's
                // UI links nowhere else.
                tracing::warn!(
                    to = %window::origin_for_log(url),
                    "navigation refused: neither the hub nor the app's own pages"
                );
            }
            allowed
        })
        .on_new_window(|url, _features| {
            tracing::warn!(to = %window::origin_for_log(&url), "new window refused");
            NewWindowResponse::Deny
        })
        .on_page_load(move |_webview, payload| {
            let url = payload.url();
            if payload.event() == PageLoadEvent::Finished
                && url.scheme().starts_with("http")
                && !first_hub_page.swap(true, Ordering::Relaxed)
            {
                let ms = STARTED.get().map_or(0, |t| t.elapsed().as_millis());
                tracing::info!(ms, %url, "first paint: the hub's page loaded");
            }
        })
        .build()?;

    if let Err(e) = build_tray(app) {
        tracing::warn!(error = %e, "no tray icon; closing the window hides it, a notification brings it back");
    }

    if let Some(error) = env_error {
        shared.set_status(Status::Failed { error });
        return Ok(());
    }
    let handle = app.handle().clone();
    match mode {
        Mode::Home => tauri::async_runtime::spawn(home::run(handle)),
        Mode::Remote(url) => {
            // The hub watch starts once the hub is found (a TLS hub is
            // polled over https, through its pinned CA).
            let pin = mode::expected_pin(&shared.saved.lock(), env_remote.as_deref(), &url);
            tauri::async_runtime::spawn(remote::run(handle, url, pin))
        }
    };
    Ok(())
}

fn build_tray(app: &tauri::App) -> tauri::Result<()> {
    let open = MenuItem::with_id(app, "open", "Open", true, None::<&str>)?;
    let choose = MenuItem::with_id(app, "choose", "Choose hub…", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&open, &choose, &quit])?;
    let mut tray = TrayIconBuilder::with_id("main")
        .tooltip("Cradle Hub")
        .menu(&menu)
        .on_menu_event(|app, event| match event.id().as_ref() {
            "open" => window::show_main(app),
            "choose" => window::choose_hub(app),
            "quit" => {
                tracing::info!("quit from the tray");
                state::quit(app);
            }
            _ => {}
        });
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(app)?;
    Ok(())
}
