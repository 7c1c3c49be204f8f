//! Home-hub mode: the hub runs inside the app, on the app's tokio runtime,
//! listening on the LAN so cradles (and other screens) reach it; the window
//! shows its own URL, and every alert it raises becomes a notification.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use clap::Parser;
use cradle_hub::alerts::HubEvent;
use cradle_hub::config::{ServeArgs, Settings};
use tauri::{AppHandle, Manager};
use tokio::sync::broadcast;

use crate::state::{Shared, Status};
use crate::{notify, relaunch, window};

/// The hub's settings come from the same `CRADLE_HUB_*` variables (and
/// `--config` file via `CRADLE_HUB_CONFIG`) as the `cradle-hub` binary; the
/// app's own command line is not the hub's, so only the environment applies.
#[derive(Debug, Parser)]
#[command(name = "cradle-app")]
struct AppArgs {
    #[command(flatten)]
    serve: ServeArgs,
}

/// `cradle-hub`'s default data folder (relative to the working directory,
/// which means nothing for a desktop app: the app-data folder replaces it).
const HUB_DEFAULT_DATA_DIR: &str = "cradle-hub-data";

pub fn hub_settings(app_data_dir: &Path) -> Result<Settings, String> {
    let args = AppArgs::try_parse_from(["cradle-app"]).map_err(|e| e.to_string())?;
    let mut settings = Settings::resolve(&args.serve).map_err(|e| e.to_string())?;
    if args.serve.data_dir.is_none() && settings.data_dir == Path::new(HUB_DEFAULT_DATA_DIR) {
        settings.data_dir = app_data_dir.to_owned();
    }
    Ok(settings)
}

/// Where this computer reaches the hub: loopback when it listens on all addresses.
pub fn local_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

pub async fn run(app: AppHandle) {
    let shared = app.state::<Arc<Shared>>().inner().clone();
    relaunch::wait_for_previous().await;
    let settings = match hub_settings(&shared.hub_data_dir) {
        Ok(s) => s,
        Err(error) => {
            shared.set_status(Status::Failed {
                error: format!("invalid hub settings: {error}"),
            });
            return;
        }
    };
    shared.hub_default_language(settings.default_language);
    let demo = settings.demo;
    tracing::info!(data_dir = %settings.data_dir.display(), http = %settings.http_addr, "starting the hub in-process");
    let hub = match cradle_hub::start(settings).await {
        Ok(hub) => hub,
        Err(e) => {
            shared.set_status(Status::Failed {
                error: format!("the hub cannot start: {e}"),
            });
            return;
        }
    };
    let url = local_url(hub.http_addr);
    match crate::remote::client(None) {
        Ok(client) => {
            tauri::async_runtime::spawn(crate::hub_watch::run(
                app.clone(),
                url.clone(),
                client,
                std::time::Duration::ZERO,
            ));
        }
        Err(e) => tracing::warn!(error = %e, "hub watch: no HTTP client"),
    }
    let events = hub.state.alerts.events.subscribe();
    // Alerts count as notified while this app is following them.
    let _listening = hub.state.alerts.listen_all();
    if demo {
        match cradle_hub::demo::setup(&hub).await {
            Ok((password, sim)) => {
                let folder = app
                    .path()
                    .app_data_dir()
                    .unwrap_or_else(|_| shared.hub_data_dir.clone());
                announce_demo(&folder, &password);
                shared.keep_alive(sim);
            }
            Err(e) => tracing::warn!(error = %e, "demo: cannot set up"),
        }
    }
    shared.set_hub_store(hub.state.store.clone());
    shared.keep_alive(hub);
    window::hub_ready(&app, &shared, &url);
    notify_alerts(&app, &shared, events, &url).await;
}

const DEMO_PASSWORD_FILE: &str = "demo-password.txt";

/// Tells where the demo account's password is, never the password itself:
/// logs end up in bug reports and journals, and on a LAN address the demo's
/// password is what guards the cradles' cameras.
fn announce_demo(folder: &Path, password: &str) {
    match write_private(&folder.join(DEMO_PASSWORD_FILE), password) {
        Ok(file) => tracing::info!(
            user = cradle_hub::demo::DEMO_USER,
            password_file = %file.display(),
            "demo: an account is ready; its password is in this file (readable by you only)"
        ),
        Err(e) => tracing::warn!(
            user = cradle_hub::demo::DEMO_USER,
            error = %e,
            "demo: an account is ready, but its password cannot be saved for you to read; restart the demo to get a new one"
        ),
    }
}

/// Writes `secret` to `path`, readable and writable by the user only
/// (created so from the start, never briefly open to others).
fn write_private(path: &Path, secret: &str) -> std::io::Result<std::path::PathBuf> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(format!("{secret}\n").as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(path.to_owned())
}

/// Every alert of this hub (whoever owns the cradle: it is the family's computer).
async fn notify_alerts(
    app: &AppHandle,
    shared: &Shared,
    mut events: broadcast::Receiver<HubEvent>,
    url: &str,
) {
    loop {
        match events.recv().await {
            Ok(HubEvent::AlertRaised { alert, .. }) => {
                let lang = shared.lang();
                notify::show(app, notify::from_row(&alert, lang), lang, url.to_owned());
            }
            Ok(HubEvent::AlertReminder { alert, .. }) => {
                let lang = shared.lang();
                let note = notify::reminder(notify::from_row(&alert, lang), lang);
                notify::show(app, note, lang, url.to_owned());
            }
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "notifications: fell behind the hub's events");
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn args_are_consistent() {
        AppArgs::command().debug_assert();
    }

    #[test]
    fn data_defaults_to_the_app_folder() {
        if std::env::vars().any(|(k, _)| k.starts_with("CRADLE_HUB_")) {
            return; // The environment decides; nothing to check here.
        }
        let settings = hub_settings(Path::new("/app/data")).expect("settings");
        assert_eq!(settings.data_dir, Path::new("/app/data"));
        // LAN: cradles must reach the MQTT endpoint, other screens the API.
        assert!(settings.http_addr.ip().is_unspecified());
    }

    /// Collects what a test's log lines say.
    #[derive(Clone, Default)]
    struct Captured(Arc<parking_lot::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged_by(f: impl FnOnce()) -> String {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        String::from_utf8_lossy(&captured.0.lock()).into_owned()
    }

    #[test]
    fn the_demo_password_goes_to_a_private_file_not_the_log() {
        let dir = tempfile::tempdir().expect("temp dir");
        let folder = dir.path().join("app-data");
        let log = logged_by(|| announce_demo(&folder, "Zq7-not-in-logs"));
        assert!(!log.contains("Zq7-not-in-logs"), "{log}");
        let file = folder.join(DEMO_PASSWORD_FILE);
        assert!(log.contains(&file.display().to_string()), "{log}");
        assert_eq!(
            std::fs::read_to_string(&file).expect("password file"),
            "Zq7-not-in-logs\n"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file)
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A new demo run replaces the old password.
        let log = logged_by(|| announce_demo(&folder, "second"));
        assert!(
            !log.contains("second\n") && !log.contains("=second"),
            "{log}"
        );
        assert_eq!(
            std::fs::read_to_string(&file).expect("password file"),
            "second\n"
        );
    }

    #[test]
    fn an_unwritable_folder_still_keeps_the_password_out_of_the_log() {
        let dir = tempfile::tempdir().expect("temp dir");
        let blocker = dir.path().join("a-file");
        std::fs::write(&blocker, "").expect("write");
        let log = logged_by(|| announce_demo(&blocker.join("sub"), "Zq7-not-in-logs"));
        assert!(!log.contains("Zq7-not-in-logs"), "{log}");
        assert!(log.contains("cannot be saved"), "{log}");
    }

    #[test]
    fn loopback_for_the_window() {
        assert_eq!(
            local_url("0.0.0.0:8080".parse().expect("addr")),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            local_url("[::]:80".parse().expect("addr")),
            "http://[::1]:80"
        );
        assert_eq!(
            local_url("192.168.1.4:8080".parse().expect("addr")),
            "http://192.168.1.4:8080"
        );
    }
}
