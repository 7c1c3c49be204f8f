//! HTTP: one module per API resource, thin handlers over the domain modules.
//! Errors are one type ([`ApiError`]) rendered in one place, in the
//! reader's language.

mod accounts;
mod activity;
mod alerts;
mod control;
mod cradles;
mod error;
mod events;
mod extract;
mod guard;
mod health;
mod household;
mod inbox;
mod media;
mod metrics;
mod monitoring;
mod mqtt_password;
mod openapi;
mod push;
mod qr;
mod sessions;
mod settings;
mod stream;
mod tls_pages;
mod ui;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::routing::{delete, get, patch, post};

pub use error::ApiError;
pub use extract::{CurrentUser, JsonObject, MediaAuth, MediaCradle, MemberOf, Operate, Own, Watch};
pub use media::ClipCache;
pub use monitoring::HISTORY_LIMIT;

use crate::alerts::Alerts;
use crate::auth::{LoginThrottle, MediaSigner, RateLimiter};
use crate::i18n::DefaultLang;
use crate::ingest::Ingest;
use crate::live::Live;
use crate::mqtt::MqttLink;
use crate::retention::Maintenance;
use crate::sessions::Sessions;
use crate::store::Store;
use crate::tasks::Tasks;

/// Everything handlers need, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub live: Arc<Live>,
    pub sessions: Arc<Sessions>,
    pub throttle: Arc<LoginThrottle>,
    pub signer: MediaSigner,
    pub mqtt: MqttLink,
    pub ingest: Arc<Ingest>,
    pub alerts: Arc<Alerts>,
    pub motor: Arc<crate::motor::Motor>,
    pub clips: Arc<ClipCache>,
    pub qr_decoders: Arc<tokio::sync::Semaphore>,
    /// Serve the UI from this folder instead of the embedded copy.
    pub ui_dir: Option<std::path::PathBuf>,
    pub http_addr: std::net::SocketAddr,
    pub mqtt_port: Option<u16>,
    pub default_lang: DefaultLang,
    pub started_at: std::time::Instant,
    /// The same moment as Unix ms.
    pub started_at_ms: crate::timefmt::Millis,
    /// The hub's tasks and root cancellation token: open streams end when
    /// it is cancelled (shutdown).
    pub tasks: Arc<Tasks>,
    pub maintenance: Arc<Maintenance>,
    /// `/register_agent` calls per source address.
    pub register_limiter: Arc<RateLimiter>,
    /// `/register` calls per source address.
    pub signup_limiter: Arc<RateLimiter>,
    /// `/check_username` calls per source address: it tells whether a name
    /// exists, which a login's constant-time answer otherwise hides.
    pub lookup_limiter: Arc<RateLimiter>,
    /// The local CA when the hub serves HTTPS with its own certificate.
    pub tls: Option<Arc<crate::tls::TlsInfo>>,
    /// `GET /metrics`: the registry, HTTP request counts and the token.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Alerts to members away from the hub's screens (Web Push).
    pub notifier: Arc<crate::notify::Notifier>,
    /// Alert emails, when the hub has `[email]`.
    pub email: Option<Arc<crate::notify::email::AlertEmails>>,
    /// The clock of invite expiry and the guessing limit (tests move it).
    pub clock: crate::clock::Clock,
    /// Wrong invite codes per account.
    pub invite_guesses: Arc<crate::household::invites::GuessLimit>,
    /// Held across each change of a household (its store job and the copy
    /// into `live`), so two changes never leave memory and SQLite apart.
    pub household_changes: Arc<tokio::sync::Mutex<()>>,
}

impl FromRef<AppState> for DefaultLang {
    fn from_ref(state: &AppState) -> DefaultLang {
        state.default_lang
    }
}

/// How long a live stream (MJPEG, SSE) may run: until the hub shuts down or
/// the session it was opened with ends, so a logout or "sign out other
/// devices" also cuts the live view on that device.
pub(crate) fn stream_lifetime(
    state: &AppState,
    session_public_id: String,
) -> impl std::future::Future<Output = ()> + Send + use<> {
    let stop = state.tasks.token().clone();
    let sessions = state.sessions.clone();
    async move {
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = sessions.ended(session_public_id) => {}
        }
    }
}

/// Request bodies larger than this are refused with 413 (QR photos are the
/// largest legitimate bodies).
const MAX_BODY: usize = 8 * 1024 * 1024;

pub fn router(state: AppState) -> Router {
    Router::new()
        // Accounts
        .route("/register", post(accounts::register))
        .route("/check_username/{username}", get(accounts::check_username))
        .route("/login", post(accounts::login))
        .route("/logout", get(accounts::logout).post(accounts::logout))
        .route("/api/account/password", post(accounts::change_password))
        .route("/api/account", get(accounts::account))
        .route("/api/account/email", post(accounts::set_email))
        .route("/api/sessions", get(sessions::list))
        .route("/api/sessions/revoke_others", post(sessions::end_others))
        .route("/api/sessions/{id}", delete(sessions::end_one))
        // Cradles
        .route("/register_agent", post(cradles::register_agent))
        .route("/register_cradle", post(cradles::register_cradle))
        .route("/select_cradle", post(cradles::select_cradle))
        .route("/delete_cradle", post(cradles::delete_cradle))
        .route("/api/agents", get(cradles::list))
        .route(
            "/api/media_token/{uuid}",
            get(cradles::media_token).post(cradles::media_token),
        )
        // Monitoring
        .route("/api/agent_status/{uuid}", get(monitoring::agent_status))
        .route("/get_sensor_data/{uuid}", get(monitoring::latest))
        .route("/api/sensor_data/{uuid}", get(monitoring::history))
        .route("/crying_status/{uuid}", get(monitoring::crying_sse))
        .route("/direction_status/{uuid}", get(monitoring::direction_sse))
        // Live view and control
        .route("/stream/{uuid}", get(stream::mjpeg))
        .route("/control_motor/{uuid}", post(control::control_motor))
        .route("/api/cradles/{uuid}/motor_log", get(control::motor_log))
        .route(
            "/api/cradles/{uuid}/mqtt_password",
            get(mqtt_password::get).post(mqtt_password::set),
        )
        // Alerts, recordings and settings
        .route("/api/alert_logs", get(alerts::list))
        .route("/api/alert_history/{uuid}", get(alerts::history))
        .route("/api/alert_detail/{id}", get(alerts::detail))
        .route("/api/alert_frame/{id}", get(alerts::frame))
        .route("/api/alert_logs/{id}/resolve", post(alerts::resolve))
        .route("/api/alert_clip/{id}", get(alerts::clip))
        .route("/api/video/{uuid}", get(media::video))
        .route("/api/recordings/{uuid}", get(media::recordings))
        .route(
            "/api/alert_settings/{uuid}",
            get(settings::get).post(settings::post),
        )
        .route("/api/push/public_key", get(push::public_key))
        .route(
            "/api/push_subscription",
            post(push::subscribe).delete(push::unsubscribe),
        )
        // The household
        .route(
            "/api/cradles/{uuid}/invites",
            get(household::list_invites).post(household::create_invite),
        )
        .route(
            "/api/cradles/{uuid}/invites/{id}",
            delete(household::revoke_invite),
        )
        .route("/api/invites/accept", post(household::accept))
        .route("/api/cradles/{uuid}/members", get(household::members))
        .route(
            "/api/cradles/{uuid}/members/{user_id}",
            patch(household::change_role).delete(household::remove),
        )
        .route("/api/cradles/{uuid}/activity", get(activity::list))
        .route(
            "/api/cradles/{uuid}/lan_app_view",
            get(household::lan_app_view).post(household::set_lan_app_view),
        )
        // The notification inbox and a member's notify switches
        .route("/api/notifications", get(inbox::list))
        .route("/api/notifications/unread_count", get(inbox::unread_count))
        .route("/api/notifications/read_all", post(inbox::read_all))
        .route("/api/notifications/sync", get(inbox::sync))
        .route("/api/notifications/{id}/read", post(inbox::read))
        .route("/api/notifications/{id}/unread", post(inbox::unread))
        .route(
            "/api/cradles/{uuid}/notify",
            get(inbox::get_prefs).post(inbox::set_prefs),
        )
        .route("/api/events", get(events::events))
        .route("/api/qr/decode", post(qr::decode))
        .route("/api/hub_info", get(qr::hub_info))
        .route("/api/hub_qr.svg", get(qr::qr_svg))
        .route("/health", get(health::health))
        .route("/metrics", get(metrics::metrics))
        .route("/api/openapi.json", get(openapi::spec))
        .route("/ca.crt", get(tls_pages::ca_cert))
        .route("/ca", get(tls_pages::install_page))
        .fallback(ui::fallback)
        .layer(axum::middleware::from_fn(guard::same_origin_only))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            error::localize,
        ))
        .layer(axum::middleware::from_fn(guard::security_headers))
        // Outermost, so it counts the final status of every answer.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::count_requests,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}
