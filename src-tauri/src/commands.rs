//! Commands the pages may call (`window.__TAURI_INTERNALS__.invoke(...)`): the
//! app's start page, and the hub's UI if it wants to (all optional for it).

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tauri::{AppHandle, State};
use tokio::sync::Semaphore;

use crate::mode::{self, ModeKind};
use crate::state::{Shared, Status};
use crate::{relaunch, remote};

#[derive(Debug, Serialize)]
pub struct ModeInfo {
    /// The mode of this run.
    pub mode: ModeKind,
    /// The remote hub of this run (remote mode).
    pub remote_url: Option<String>,
    /// The remote address last chosen (kept in home mode, for the form).
    pub saved_remote_url: Option<String>,
    /// `CRADLE_APP_REMOTE` decided the mode of this run.
    pub from_env: bool,
    /// starting / ready (with `hub_url`) / failed (with `error`).
    pub status: Status,
    /// The language of notifications.
    pub language: &'static str,
    pub title: String,
}

#[tauri::command]
pub fn get_mode(shared: State<'_, Arc<Shared>>) -> ModeInfo {
    ModeInfo {
        mode: shared.mode.kind(),
        remote_url: match &shared.mode {
            mode::Mode::Remote(url) => Some(url.clone()),
            mode::Mode::Home => None,
        },
        saved_remote_url: shared.saved.lock().remote_url.clone(),
        from_env: shared.from_env,
        status: shared.status(),
        language: shared.lang().code(),
        title: shared.mode.window_title(),
    }
}

#[derive(Debug, Serialize)]
pub struct SetModeAnswer {
    /// The app restarts into the new mode.
    pub restarting: bool,
    /// The hub address as saved (normalised).
    pub remote_url: Option<String>,
    /// Nothing saved yet: a TLS hub whose certificate authority the user
    /// must check first; `set_mode` again with its `ca_sha256` trusts it.
    pub confirm: Option<Confirm>,
}

#[derive(Debug, Serialize)]
pub struct Confirm {
    pub url: String,
    /// Lowercase hex, to send back.
    pub ca_sha256: String,
    /// `AB:CD:…`, to show.
    pub fingerprint: String,
}

/// Saves the choice; switching restarts the app. A remote hub must answer
/// first, so a typo never leaves the parent without notifications. A TLS
/// hub's CA must match the fingerprint in the address (the hub's QR code),
/// else the one saved for it, else the one the user confirms (`ca_sha256`,
/// after a first answer with `confirm`).
#[tauri::command]
pub async fn set_mode(
    app: AppHandle,
    shared: State<'_, Arc<Shared>>,
    mode: ModeKind,
    url: Option<String>,
    ca_sha256: Option<String>,
) -> Result<SetModeAnswer, String> {
    let (remote_url, pin) = match (mode, url.as_deref()) {
        (ModeKind::Remote, None) => return Err("the remote hub's address is missing".to_owned()),
        (ModeKind::Remote, Some(url)) => {
            let address = mode::parse_hub_address(url)?;
            let confirmed = ca_sha256
                .as_deref()
                .map(crate::pin::parse_fingerprint)
                .transpose()?;
            let expected = address
                .ca_sha256
                .clone()
                .or(confirmed)
                .or_else(|| mode::expected_pin(&shared.saved.lock(), None, &address.url));
            match remote::discover(&address.url, expected.as_deref()).await {
                Ok(remote::Found::Ready(hub)) => (Some(hub.base), hub.ca_sha256),
                Ok(remote::Found::Confirm { base, ca_sha256 }) => {
                    return Ok(SetModeAnswer {
                        restarting: false,
                        remote_url: None,
                        confirm: Some(Confirm {
                            url: base,
                            fingerprint: crate::pin::display(&ca_sha256),
                            ca_sha256,
                        }),
                    });
                }
                Err(remote::FindError::Refused(e)) => return Err(e),
                Err(remote::FindError::Unreachable(e)) => {
                    return Err(format!("cannot reach the hub at {}: {e}", address.url));
                }
            }
        }
        (ModeKind::Home, _) => (None, None),
    };
    let next = {
        let mut saved = shared.saved.lock();
        saved.mode = mode;
        if remote_url.is_some() {
            saved.remote_url = remote_url.clone();
            saved.remote_ca_sha256 = pin;
        }
        shared
            .store
            .save(&saved)
            .map_err(|e| format!("cannot save {}: {e}", shared.store.path().display()))?;
        saved.mode()
    };
    tracing::info!(?next, "mode chosen");
    let restarting = !shared.from_env && next != shared.mode;
    if restarting {
        let app = app.clone();
        let shared = shared.inner().clone();
        tauri::async_runtime::spawn(async move {
            // Let the answer reach the page first.
            tokio::time::sleep(Duration::from_millis(300)).await;
            shared.flush_hub().await;
            relaunch::relaunch(&app);
        });
    }
    Ok(SetModeAnswer {
        restarting,
        remote_url,
        confirm: None,
    })
}

/// The hubs found on the LAN so far (mDNS), for the start page to list;
/// the first call starts looking. An error when mDNS is off or unusable.
#[tauri::command]
pub async fn find_hubs(lan: State<'_, crate::lan::Lan>) -> Result<Vec<crate::lan::LanHub>, String> {
    lan.hubs()
}

/// The UI's language, for notifications (`en` / `ko`).
#[tauri::command]
pub fn set_language(shared: State<'_, Arc<Shared>>, lang: String) -> Result<(), String> {
    let lang = mode::parse_lang(&lang).ok_or_else(|| format!("unsupported language {lang:?}"))?;
    shared.ui_language(lang).map_err(|e| e.to_string())
}

/// A photo of the hub's QR code (raw image bytes) → the hub's address
/// (with `?ca_sha256=` for a TLS hub).
#[tauri::command]
pub async fn decode_qr(
    shared: State<'_, Arc<Shared>>,
    request: tauri::ipc::Request<'_>,
) -> Result<String, String> {
    let tauri::ipc::InvokeBody::Raw(bytes) = request.body() else {
        return Err("send the image's bytes (an ArrayBuffer or Uint8Array)".to_owned());
    };
    let bytes = bytes.clone();
    let text = decode_if_free(&shared.qr_decoders, move || {
        cradle_hub::qr::decode(&bytes).map_err(|e| e.to_string())
    })
    .await?;
    // Keeps the CA fingerprint of a TLS hub's QR code: it is what pins it.
    let address = mode::parse_hub_address(&text)?;
    Ok(match address.ca_sha256 {
        Some(fp) => format!("{}/?ca_sha256={fp}", address.url),
        None => address.url,
    })
}

pub const QR_BUSY: &str = "busy: another QR photo is still being read; try again in a moment";

/// Runs `decode` on a blocking thread if one of `decoders` is free, else
/// answers [`QR_BUSY`] at once: waiting would let a page pile up images in
/// memory and work for the cores. The permit goes with the thread, so work
/// still running after the page gave up keeps counting.
async fn decode_if_free<F>(decoders: &Arc<Semaphore>, decode: F) -> Result<String, String>
where
    F: FnOnce() -> Result<String, String> + Send + 'static,
{
    let permit = decoders
        .clone()
        .try_acquire_owned()
        .map_err(|_| QR_BUSY.to_owned())?;
    tauri::async_runtime::spawn_blocking(move || {
        let _permit = permit;
        decode()
    })
    .await
    .map_err(|e| e.to_string())?
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn qr_decoding_refuses_when_all_decoders_are_busy() {
        tauri::async_runtime::block_on(async {
            let decoders = Arc::new(Semaphore::new(1));
            let (release, wait) = mpsc::channel::<()>();
            let (started_tx, started) = mpsc::channel::<()>();
            let first = tauri::async_runtime::spawn({
                let decoders = decoders.clone();
                async move {
                    decode_if_free(&decoders, move || {
                        let _ = started_tx.send(());
                        let _ = wait.recv();
                        Ok("http://hub".to_owned())
                    })
                    .await
                }
            });
            started.recv().expect("the first decode started");
            assert_eq!(
                decode_if_free(&decoders, || Ok("never".to_owned())).await,
                Err(QR_BUSY.to_owned())
            );
            release.send(()).expect("release the first decode");
            assert_eq!(
                first.await.expect("first task"),
                Ok("http://hub".to_owned())
            );
            assert_eq!(
                decode_if_free(&decoders, || Ok("again".to_owned())).await,
                Ok("again".to_owned())
            );
        });
    }
}
