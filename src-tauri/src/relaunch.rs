//! Switching modes restarts the app, so each mode starts from a clean
//! process. The new process starts the hub only after the old one has gone
//! and freed its HTTP and MQTT ports.

use std::time::{Duration, Instant};

use tauri::AppHandle;

const WAIT_ENV: &str = "CRADLE_APP_WAIT_PID";

pub fn relaunch(app: &AppHandle) {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            tracing::error!(error = %e, "cannot restart: own executable unknown");
            return;
        }
    };
    // The new process must not find this one still holding the app's
    // single-instance name, or it would hand over to it and exit.
    tauri_plugin_single_instance::destroy(app);
    let spawned = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(WAIT_ENV, std::process::id().to_string())
        .spawn();
    match spawned {
        Ok(_) => app.exit(0),
        Err(e) => tracing::error!(error = %e, "cannot restart"),
    }
}

/// Waits (up to 10 s) for the process that relaunched this one to exit.
pub async fn wait_for_previous() {
    let Some(pid) = std::env::var(WAIT_ENV)
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
    else {
        return;
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while process_exists(pid) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(target_os = "linux")]
fn process_exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(not(target_os = "linux"))]
fn process_exists(_pid: u32) -> bool {
    // No cheap portable check: a second is plenty for an exit.
    static FIRST: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    FIRST.get_or_init(Instant::now).elapsed() < Duration::from_secs(1)
}
