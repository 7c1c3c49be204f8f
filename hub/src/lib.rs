//! Cradle Hub: MQTT ingest from smart cradles, SQLite storage, and the REST
//! API / live view parents use. See `docs/ARCHITECTURE.md` for the data flow.

pub mod alerts;
pub mod api;
pub mod auth;
pub mod bench;
pub mod config;
pub mod demo;
pub mod i18n;
pub mod ingest;
pub mod live;
pub mod media;
pub mod mqtt;
pub mod qr;
pub mod readings;
pub mod retention;
pub mod simulator;
pub mod store;
pub mod tasks;
pub mod timefmt;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::api::AppState;
use crate::auth::{LoginThrottle, MediaSigner, Sessions};
use crate::config::{MqttMode, Settings};
use crate::i18n::DefaultLang;
use crate::ingest::Ingest;
use crate::live::Live;
use crate::store::{Store, agents};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Broker(#[from] mqtt::broker::BrokerError),
    #[error("cannot listen for HTTP on {addr}: {source}")]
    Http {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot read or create the secret key in {path}: {source}")]
    SecretKey {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("start-up task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// A running hub. Dropping it does not stop it; call [`RunningHub::shutdown`].
pub struct RunningHub {
    pub http_addr: SocketAddr,
    /// The embedded broker's address, if this hub runs one.
    pub mqtt_addr: Option<SocketAddr>,
    pub state: AppState,
    shutdown: watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
}

impl RunningHub {
    /// Stops the HTTP server (open streams end). The embedded broker has no
    /// shutdown and keeps running until the process exits.
    pub async fn shutdown(self) {
        self.shutdown.send_replace(true);
        let _ = self.server.await;
    }

    /// Waits until the HTTP server stops (never, unless shut down).
    pub async fn wait(self) {
        let _ = self.server.await;
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.http_addr)
    }
}

/// Starts everything: store, embedded broker (unless external), MQTT
/// client, HTTP server. Returns once HTTP accepts connections and MQTT is
/// connected (or after a short wait if the broker is unreachable: the
/// client keeps retrying in the background).
pub async fn start(settings: Settings) -> Result<RunningHub, StartError> {
    let data_dir = settings.data_dir.clone();
    let store = tokio::task::spawn_blocking(move || Store::open(&data_dir)).await??;
    let known_agents = store.read(agents::all).await?;

    let live = Arc::new(Live::default());
    for a in &known_agents {
        live.ensure(&a.uuid, a.owner_id);
    }

    let key_dir = settings.data_dir.clone();
    let configured_key = settings.secret_key.clone();
    let key = tokio::task::spawn_blocking(move || {
        auth::load_or_create_key(configured_key.as_deref(), &key_dir)
    })
    .await?
    .map_err(|source| StartError::SecretKey {
        path: settings.data_dir.clone(),
        source,
    })?;

    let alerts = alerts::Alerts::load(store.clone(), live.clone()).await?;
    alerts.spawn_ticker();
    let maintenance = retention::Maintenance::new(
        store.clone(),
        retention::Retention {
            days: settings.retention_days,
            max_recording_bytes: settings.max_recording_bytes,
        },
    );
    tokio::spawn(maintenance.clone().run(
        tokio_util::sync::CancellationToken::new(),
        tasks::TaskHealth::new("maintenance"),
    ));
    let ingest = Arc::new(Ingest::new(live.clone(), store.clone(), alerts.clone()));
    let (mqtt_addr, host, port) = match &settings.mqtt {
        MqttMode::Embedded { listen } => {
            let addr = mqtt::broker::start(*listen, settings.max_mqtt_payload)?;
            let host = if addr.ip().is_unspecified() {
                "127.0.0.1".to_owned()
            } else {
                addr.ip().to_string()
            };
            tracing::info!(%addr, "mqtt: embedded broker listening");
            (Some(addr), host, addr.port())
        }
        MqttMode::External { host, port } => (None, host.clone(), *port),
    };
    let mqtt = mqtt::client::spawn(&host, port, settings.max_mqtt_payload, ingest.clone());

    let listener = tokio::net::TcpListener::bind(settings.http_addr)
        .await
        .map_err(|source| StartError::Http {
            addr: settings.http_addr,
            source,
        })?;
    let http_addr = listener.local_addr().map_err(|source| StartError::Http {
        addr: settings.http_addr,
        source,
    })?;
    let state = AppState {
        sessions: Arc::new(Sessions::new(store.clone(), settings.session_days)),
        store,
        live,
        throttle: Arc::new(LoginThrottle::default()),
        signer: MediaSigner::new(&key),
        mqtt,
        ingest,
        alerts,
        clips: Arc::new(api::ClipCache::default()),
        qr_decoders: Arc::new(tokio::sync::Semaphore::new(2)),
        ui_dir: settings.ui_dir.clone(),
        http_addr,
        mqtt_port: match &settings.mqtt {
            MqttMode::Embedded { .. } => mqtt_addr.map(|a| a.port()),
            MqttMode::External { port, .. } => Some(*port),
        },
        default_lang: DefaultLang(settings.default_language),
        started_at: std::time::Instant::now(),
        maintenance,
    };

    let (shutdown, mut shutdown_rx) = watch::channel(false);
    let app = api::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move {
        let stop = async move {
            let _ = shutdown_rx.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::error!(error = %e, "http: server stopped");
        }
    });
    tracing::info!(%http_addr, "http: listening");

    spawn_housekeeping(state.clone());

    if !state.mqtt.wait_connected(Duration::from_secs(3)).await {
        tracing::warn!(
            broker = state.mqtt.broker,
            "mqtt: broker not reachable yet; retrying in the background"
        );
    }
    Ok(RunningHub {
        http_addr,
        mqtt_addr,
        state,
        shutdown,
        server,
    })
}

fn spawn_housekeeping(state: AppState) {
    tokio::spawn(async move {
        let mut hourly = tokio::time::interval(Duration::from_secs(3600));
        loop {
            hourly.tick().await;
            match state.sessions.delete_expired().await {
                Ok(n) if n > 0 => tracing::info!(sessions = n, "expired sessions removed"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "session cleanup failed"),
            }
        }
    });
}
