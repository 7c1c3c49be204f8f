//! What the app's parts share: the mode of this run, where it stands, the
//! notification language and the settings file.

use std::any::Any;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use cradle_hub::i18n::Lang;
use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::{Semaphore, watch};

use crate::mode::{self, Mode, Saved};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum Status {
    /// Starting the hub, or looking for the remote one.
    Starting,
    /// The window shows the hub at `hub_url`.
    Ready { hub_url: String },
    /// The hub cannot start, or the remote hub cannot be reached (retrying).
    Failed { error: String },
}

pub struct Shared {
    pub mode: Mode,
    /// `CRADLE_APP_REMOTE` chose the mode (the saved choice applies next time it is unset).
    pub from_env: bool,
    pub store: mode::Store,
    pub saved: Mutex<Saved>,
    pub status: Mutex<Status>,
    /// The language of notifications: the UI's once it reported one, else the hub's default.
    pub lang: watch::Sender<Lang>,
    /// Folder of the in-process hub's data unless `CRADLE_HUB_DATA_DIR` says otherwise.
    pub hub_data_dir: PathBuf,
    /// Things that must live as long as the app (the running hub, the demo's simulator).
    keep: Mutex<Vec<Box<dyn Any + Send>>>,
    /// The in-process hub's store, flushed before the app exits.
    hub_store: Mutex<Option<cradle_hub::store::Store>>,
    /// The hub the window shows, once it answered: the only origin besides
    /// the app's own pages the window may navigate to.
    hub_url: OnceLock<String>,
    /// QR photos being decoded: each holds a blocking thread and the whole
    /// image, so a page cannot queue up any number of them.
    pub qr_decoders: Arc<Semaphore>,
}

/// Decoding a photo takes a core for up to a second; one parent picks one
/// photo at a time, two leaves room for a retry while the first finishes.
pub const QR_DECODERS: usize = 2;

impl Shared {
    pub fn new(
        mode: Mode,
        from_env: bool,
        store: mode::Store,
        saved: Saved,
        hub_data_dir: PathBuf,
    ) -> Shared {
        let lang = saved.language().unwrap_or(Lang::En);
        Shared {
            mode,
            from_env,
            store,
            saved: Mutex::new(saved),
            status: Mutex::new(Status::Starting),
            lang: watch::Sender::new(lang),
            hub_data_dir,
            keep: Mutex::new(Vec::new()),
            hub_store: Mutex::new(None),
            hub_url: OnceLock::new(),
            qr_decoders: Arc::new(Semaphore::new(QR_DECODERS)),
        }
    }

    /// Set once per run (the app restarts to change hubs).
    pub fn set_hub_url(&self, hub_url: &str) {
        if self.hub_url.set(hub_url.to_owned()).is_err() && self.hub_url() != Some(hub_url) {
            tracing::warn!(hub_url, "the hub's address cannot change during a run");
        }
    }

    pub fn hub_url(&self) -> Option<&str> {
        self.hub_url.get().map(String::as_str)
    }

    pub fn set_status(&self, status: Status) {
        let mut current = self.status.lock();
        if *current != status {
            match &status {
                Status::Failed { error } => tracing::warn!(%error, "hub not available"),
                Status::Ready { hub_url } => tracing::info!(%hub_url, "hub ready"),
                Status::Starting => {}
            }
            *current = status;
        }
    }

    pub fn status(&self) -> Status {
        self.status.lock().clone()
    }

    pub fn lang(&self) -> Lang {
        *self.lang.borrow()
    }

    /// The hub's default language applies until the UI reports its own.
    pub fn hub_default_language(&self, lang: Lang) {
        if self.saved.lock().language().is_none() {
            self.lang
                .send_if_modified(|l| std::mem::replace(l, lang) != lang);
        }
    }

    /// The UI's language (reported by the page); remembered for the next start.
    pub fn ui_language(&self, lang: Lang) -> std::io::Result<()> {
        self.lang
            .send_if_modified(|l| std::mem::replace(l, lang) != lang);
        let mut saved = self.saved.lock();
        if saved.language() != Some(lang) {
            saved.language = Some(lang.code().to_owned());
            self.store.save(&saved)?;
        }
        Ok(())
    }

    pub fn keep_alive<T: Any + Send>(&self, thing: T) {
        self.keep.lock().push(Box::new(thing));
    }

    pub fn set_hub_store(&self, store: cradle_hub::store::Store) {
        *self.hub_store.lock() = Some(store);
    }

    /// Commits what the in-process hub has queued (at most 3 s): called
    /// before the app quits or restarts.
    pub async fn flush_hub(&self) {
        let store = self.hub_store.lock().clone();
        if let Some(store) = store {
            match tokio::time::timeout(std::time::Duration::from_secs(3), store.flush()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "hub: cannot flush its store"),
                Err(_) => tracing::warn!("hub: store flush timed out"),
            }
        }
    }
}

/// Quits the app after the hub's store is flushed.
pub fn quit(app: &tauri::AppHandle) {
    use tauri::Manager;
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        if let Some(shared) = app.try_state::<std::sync::Arc<Shared>>() {
            shared.flush_hub().await;
        }
        app.exit(0);
    });
}
