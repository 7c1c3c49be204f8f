//! Cradle Hub: MQTT ingest from smart cradles, SQLite storage, and the REST
//! API / live view parents use. See `docs/ARCHITECTURE.md` for the data flow.

pub mod admin;
pub mod alerts;
pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
pub mod data_lock;
pub mod demo;
pub mod discovery;
pub mod ha;
pub mod household;
pub mod i18n;
pub mod ingest;
pub mod live;
pub mod log_gate;
pub mod media;
pub mod metrics;
pub mod motor;
pub mod mqtt;
pub mod notify;
pub mod qr;
pub mod readings;
pub mod retention;
pub mod service;
pub mod sessions;
pub mod store;
pub mod tasks;
pub mod timefmt;
pub mod tls;
pub mod watchdog;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::api::AppState;
use crate::auth::{LoginThrottle, MediaSigner, RateLimiter};
use crate::config::{MqttMode, Settings};
use crate::i18n::DefaultLang;
use crate::ingest::Ingest;
use crate::live::Live;
use crate::mqtt::MqttLink;
use crate::sessions::{Lifetimes, Sessions};
use crate::store::{Store, agents};
use crate::tasks::Tasks;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    DataDirInUse(#[from] data_lock::LockError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("cannot listen for MQTT on {addr}: {source}")]
    Mqtt {
        addr: SocketAddr,
        source: std::io::Error,
    },
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
    #[error("cannot set up HTTPS: {0}")]
    Tls(#[from] tls::TlsError),
    #[error("cannot read or make the Web Push key: {0}")]
    PushKey(#[from] notify::vapid::KeyError),
    #[error("cannot set up the Web Push client: {0}")]
    PushClient(reqwest::Error),
    #[error("cannot set up alert emails: {0}")]
    Email(#[from] notify::email::MailError),
}

/// A running hub. Dropping it does not stop it; call [`RunningHub::shutdown`].
pub struct RunningHub {
    pub http_addr: SocketAddr,
    /// The hub's own MQTT endpoint, unless cradles use an external broker.
    pub mqtt_addr: Option<SocketAddr>,
    pub state: AppState,
    server: tokio::task::JoinHandle<()>,
    /// Released once the hub has stopped, so another may start on the folder.
    data_lock: data_lock::DataDirLock,
    /// The mDNS advertisement, withdrawn at shutdown.
    advertiser: Option<discovery::Advertiser>,
}

/// How long [`RunningHub::shutdown`] may take in all.
pub const SHUTDOWN_BUDGET: Duration = Duration::from_secs(2);

impl RunningHub {
    /// The root token: cancelled at shutdown. Tasks take a child
    /// ([`Tasks::child_token`]) from [`RunningHub::tasks`].
    pub fn cancellation_token(&self) -> CancellationToken {
        self.state.tasks.token().clone()
    }

    /// The hub's tasks: adopt a `JoinHandle` and register a
    /// [`tasks::TaskHealth`] there to have it stopped and watched.
    pub fn tasks(&self) -> &Arc<Tasks> {
        &self.state.tasks
    }

    /// Stops the hub within [`SHUTDOWN_BUDGET`], viewers connected or not:
    /// 1. the root token is cancelled: open streams (MJPEG, SSE, events)
    ///    end with a clean close, the HTTP server stops accepting and
    ///    finishes the requests in flight, background tasks stop;
    /// 2. the HTTP server is awaited (aborted after 1 s);
    /// 3. the background tasks are joined (aborted after 1.5 s), and the
    ///    mDNS goodbye, sent from the start, is awaited (until 1.6 s);
    /// 4. the store commits every queued write and its writer thread stops.
    pub async fn shutdown(self) {
        let started = Instant::now();
        // The LAN hears the goodbye while the rest stops.
        let goodbye = self.advertiser.map(discovery::Advertiser::withdraw);
        self.state.tasks.cancel();
        let mut server = self.server;
        if tokio::time::timeout_at(started + Duration::from_millis(1000), &mut server)
            .await
            .is_err()
        {
            tracing::warn!("http: requests still running at shutdown; closed");
            server.abort();
        }
        self.state
            .tasks
            .join(started + Duration::from_millis(1500))
            .await;
        if let Some(goodbye) = goodbye
            && tokio::time::timeout_at(started + Duration::from_millis(1600), goodbye)
                .await
                .is_err()
        {
            tracing::warn!("mdns: the goodbye did not finish in time");
        }
        let left = SHUTDOWN_BUDGET
            .saturating_sub(started.elapsed())
            .saturating_sub(Duration::from_millis(50));
        match self.state.store.close(left).await {
            Ok(()) => tracing::info!(
                ms = started.elapsed().as_millis() as u64,
                "hub stopped; store flushed"
            ),
            Err(e) => tracing::error!(error = %e, "hub stopped; the store did not flush in time"),
        }
        drop(self.data_lock);
    }

    /// Waits until the HTTP server stops (never, unless shut down).
    pub async fn wait(self) {
        let _ = self.server.await;
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.http_addr)
    }
}

/// Starts everything: store, the MQTT endpoint (or the client of an external
/// broker), HTTP server. Returns once HTTP and MQTT accept connections (with
/// an external broker: once connected, or after a short wait if it is
/// unreachable; the client keeps retrying in the background).
pub async fn start(settings: Settings) -> Result<RunningHub, StartError> {
    let tasks = Tasks::new();
    let data_dir = settings.data_dir.clone();
    let data_lock =
        tokio::task::spawn_blocking(move || data_lock::DataDirLock::acquire(&data_dir, "hub"))
            .await??;
    let data_dir = settings.data_dir.clone();
    let store = tokio::task::spawn_blocking(move || Store::open(&data_dir)).await??;
    tasks.register(store.writer_health().clone());
    let (known_agents, members, lan_app_view) = store
        .read(|c| {
            Ok((
                agents::all(c)?,
                store::household::all_members(c)?,
                store::household::lan_app_view_on(c)?,
            ))
        })
        .await?;

    let live = Arc::new(Live::default());
    for a in &known_agents {
        live.ensure(&a.uuid, a.owner_id)
            .set_mqtt_password_hash(a.mqtt_password_hash.as_deref());
    }
    for (uuid, user_id, role) in members {
        if let Some(c) = live.get(&uuid).filter(|c| c.owner().is_some()) {
            c.set_member(user_id, Some(role));
        }
    }
    for uuid in lan_app_view {
        if let Some(c) = live.get(&uuid) {
            c.set_lan_app_view(true);
        }
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
    let (email, email_outbox) = match settings.email.clone() {
        Some(email) => {
            let mailer =
                tokio::task::spawn_blocking(move || notify::email::Mailer::new(&email)).await??;
            tracing::info!(server = mailer.server(), "email: alert emails on");
            let (queue, outbox) = notify::email::AlertEmails::new(mailer);
            (Some(queue), Some(outbox))
        }
        None => (None, None),
    };
    let notifier = start_notifier(&settings, &store, &alerts, email.clone(), &tasks).await?;
    {
        let alerts = alerts.clone();
        tasks.spawn("alert-ticker", move |token, health| {
            alerts.run_ticker(token, health)
        });
    }
    let maintenance = retention::Maintenance::new(
        store.clone(),
        retention::Retention {
            days: settings.retention_days,
            max_recording_bytes: settings.max_recording_bytes,
        },
    );
    {
        let maintenance = maintenance.clone();
        tasks.spawn("maintenance", move |token, health| {
            maintenance.run(token, health)
        });
    }
    let ingest = Arc::new(Ingest::new(live.clone(), store.clone(), alerts.clone()));
    let (ha_events, ha_inbox) = ha::channel(&settings);
    let mqtt = match &settings.mqtt {
        MqttMode::Endpoint { listen } => {
            let listen = *listen;
            let mqtt_error = |source| StartError::Mqtt {
                addr: listen,
                source,
            };
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(mqtt_error)?;
            let config = mqtt::server::ServerConfig {
                max_payload: settings.max_mqtt_payload,
                connect_timeout: Duration::from_secs(10),
            };
            let (server, task) = mqtt::server::spawn(
                listener,
                config,
                ingest.clone(),
                live.clone(),
                tasks.child_token(),
            )
            .map_err(mqtt_error)?;
            tasks.adopt_with_health(tasks::MQTT_TASK, task);
            tracing::info!(addr = %server.addr, "mqtt: listening for cradles");
            MqttLink::Endpoint(server)
        }
        MqttMode::External { host, port } => {
            // A lost broker shows as "mqtt": "disconnected" in `/health`.
            let (client, task) = mqtt::client::spawn(
                host,
                *port,
                settings.mqtt_login.as_ref(),
                settings.max_mqtt_payload,
                ingest.clone(),
                ha_events,
                tasks.child_token(),
            );
            tasks.adopt_with_health(tasks::MQTT_TASK, task);
            MqttLink::Broker(client)
        }
    };
    let mqtt_addr = mqtt.endpoint().map(|s| s.addr);
    let motor =
        motor::Motor::load(mqtt.clone(), store.clone(), live.clone(), alerts.clone()).await?;
    {
        let motor = motor.clone();
        tasks.spawn("motor", move |token, health| motor.run(token, health));
    }

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
    let tls_settings = settings.clone();
    let tls = tokio::task::spawn_blocking(move || tls::Tls::setup(&tls_settings)).await??;
    if let Some(outbox) = email_outbox {
        let hub = notify::email::HubAddress {
            http_addr,
            https: tls.is_some(),
        };
        outbox.start(store.clone(), hub, settings.default_language, &tasks);
    }
    let metrics = Arc::new(metrics::Metrics::new(
        metrics::Sources {
            ingest: ingest.clone(),
            store: store.clone(),
            live: live.clone(),
            alerts: alerts.clone(),
            mqtt: mqtt.clone(),
        },
        settings.metrics_token.as_deref(),
    ));
    let state = AppState {
        sessions: Arc::new(Sessions::new(
            store.clone(),
            Lifetimes::from_days(settings.session_days, settings.session_max_days),
        )),
        store,
        live,
        throttle: Arc::new(LoginThrottle::default()),
        signer: MediaSigner::new(&key),
        mqtt,
        ingest,
        alerts,
        motor,
        clips: Arc::new(api::ClipCache::default()),
        qr_decoders: Arc::new(tokio::sync::Semaphore::new(2)),
        ui_dir: settings.ui_dir.clone(),
        http_addr,
        mqtt_port: match &settings.mqtt {
            MqttMode::Endpoint { .. } => mqtt_addr.map(|a| a.port()),
            MqttMode::External { port, .. } => Some(*port),
        },
        default_lang: DefaultLang(settings.default_language),
        started_at: std::time::Instant::now(),
        started_at_ms: timefmt::now_millis(),
        tasks: tasks.clone(),
        maintenance,
        register_limiter: Arc::new(RateLimiter::register_agent()),
        signup_limiter: Arc::new(RateLimiter::signup()),
        lookup_limiter: Arc::new(RateLimiter::username_lookup()),
        tls: tls.as_ref().map(|t| t.info.clone()),
        metrics,
        notifier,
        email,
        clock: clock::Clock::default(),
        invite_guesses: Arc::new(household::invites::GuessLimit::default()),
        household_changes: Arc::default(),
    };

    let stop = tasks.child_token();
    let server = match tls {
        None => {
            let app =
                api::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app)
                    .with_graceful_shutdown(stop.cancelled_owned())
                    .await
                {
                    tracing::error!(error = %e, "http: server stopped");
                }
            })
        }
        // HTTPS and plain HTTP on the one port: see `tls::serve`.
        Some(tls) => {
            tls.spawn_renewal(&tasks);
            tokio::spawn(tls::serve::serve(
                listener,
                api::router(state.clone()),
                tls.acceptor,
                stop,
            ))
        }
    };
    tracing::info!(%http_addr, tls = settings.tls.as_str(), "http: listening");
    let advertiser = discovery::Advertiser::start(&settings, http_addr, mqtt_addr);

    {
        let state = state.clone();
        tasks.spawn("session-cleanup", move |token, health| {
            session_cleanup(state, token, health)
        });
    }
    {
        let sessions = state.sessions.clone();
        tasks.spawn("session-revalidation", move |token, health| {
            sessions.follow_outside_revocations(token, health)
        });
    }

    if let (Some(inbox), MqttLink::Broker(client)) = (ha_inbox, &state.mqtt) {
        ha::spawn(&state, client.clone(), &settings, inbox);
    }

    if let MqttLink::Broker(client) = &state.mqtt
        && !client.wait_connected(Duration::from_secs(3)).await
    {
        tracing::warn!(
            broker = client.broker,
            "mqtt: broker not reachable yet; retrying in the background"
        );
    }
    Ok(RunningHub {
        http_addr,
        mqtt_addr,
        state,
        server,
        advertiser,
        data_lock,
    })
}

/// The VAPID key and the task that pushes every alert to the household.
async fn start_notifier(
    settings: &Settings,
    store: &Store,
    alerts: &Arc<alerts::Alerts>,
    email: Option<Arc<notify::email::AlertEmails>>,
    tasks: &Arc<Tasks>,
) -> Result<Arc<notify::Notifier>, StartError> {
    let (vapid, _) = notify::vapid::load_or_create(store, &settings.data_dir).await?;
    let policy = if settings.allow_insecure_push {
        tracing::warn!("push: plain-http and loopback push endpoints allowed (test only)");
        notify::endpoint::EndpointPolicy::AllowLoopback
    } else {
        notify::endpoint::EndpointPolicy::PublicHttps
    };
    let contact = settings
        .push_contact
        .clone()
        .unwrap_or_else(|| notify::push::DEFAULT_CONTACT.to_owned());
    let push = notify::push::Push::new(vapid, policy, contact).map_err(StartError::PushClient)?;
    let notifier = notify::Notifier::new(store.clone(), alerts.clone(), push, email);
    // Subscribed before cradles can connect, so no alert goes unpushed.
    let events = alerts.events.subscribe();
    let runner = notifier.clone();
    tasks.spawn("notify", move |token, health| {
        runner.run(events, token, health)
    });
    Ok(notifier)
}

async fn session_cleanup(
    state: AppState,
    token: CancellationToken,
    health: Arc<tasks::TaskHealth>,
) {
    let mut hourly = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = token.cancelled() => return,
            _ = hourly.tick() => {}
        }
        health.beat_now();
        match state.sessions.delete_expired().await {
            Ok(n) if n > 0 => tracing::info!(sessions = n, "expired sessions removed"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "session cleanup failed"),
        }
    }
}
