//! Alerts, their recordings, alert settings, Web Push, the motor and the
//! per-user event stream.

use utoipa::ToSchema;

use super::common::{ErrorBody, Language, MotorAction, SuccessOnly};
use super::monitoring::SensorReading;

#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum AlertType {
    HighTemperature,
    Crying,
    AbnormalPosition,
    FaceNotDetected,
    CradleOffline,
    CameraSilent,
    SensorFault,
}

#[derive(ToSchema)]
pub struct Alert {
    pub id: i64,
    pub agent_uuid: String,
    pub alert_type: AlertType,
    /// In the request's language.
    pub message: String,
    /// The same text as `message`.
    pub alert_message: String,
    #[schema(required = true)]
    pub temperature: Option<f64>,
    #[schema(required = true)]
    pub face_detected: Option<bool>,
    pub notification_sent: bool,
    pub resolved: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(required = true, format = DateTime)]
    pub resolved_at: Option<String>,
    pub critical: bool,
}

#[derive(ToSchema)]
pub struct VideoFrame {
    pub id: i64,
    #[schema(format = DateTime)]
    pub timestamp: String,
}

/// The window recorded around the alert.
#[derive(ToSchema)]
pub struct RecordingWindow {
    #[schema(format = DateTime)]
    pub from: String,
    #[schema(format = DateTime)]
    pub to: String,
    /// The window has passed.
    pub complete: bool,
}

#[derive(ToSchema)]
pub struct AlertDetail {
    pub alert: Alert,
    pub sensor_data: Vec<SensorReading>,
    pub video_frames: Vec<VideoFrame>,
    pub total_frames: i64,
    pub recording: RecordingWindow,
}

/// Alert settings as stored; the defaults are the contract's.
#[derive(ToSchema)]
pub struct AlertSettings {
    /// °C.
    #[schema(minimum = 30.0, maximum = 45.0)]
    pub max_temperature: f64,
    /// Seconds.
    #[schema(minimum = 0, maximum = 86400)]
    pub abnormal_position_timeout: u32,
    /// Seconds.
    #[schema(minimum = 0, maximum = 86400)]
    pub crying_duration_threshold: u32,
    pub push_notifications_enabled: bool,
    pub email_notifications_enabled: bool,
    pub offline_alert_enabled: bool,
    /// Seconds.
    #[schema(minimum = 10, maximum = 3600)]
    pub offline_after: u32,
    pub camera_silent_alert_enabled: bool,
    /// Seconds.
    #[schema(minimum = 10, maximum = 3600)]
    pub camera_silent_after: u32,
    pub sensor_fault_alert_enabled: bool,
    #[schema(minimum = 1, maximum = 60)]
    pub max_rock_minutes: u32,
    pub soothing_enabled: bool,
    /// Seconds of crying before soothing starts.
    #[schema(minimum = 5, maximum = 600)]
    pub soothe_after: u32,
    #[schema(minimum = 1, maximum = 60)]
    pub soothe_minutes: u32,
}

/// A partial update: absent (or `null`) fields keep their value, unknown
/// fields are ignored. Numbers may also come as numeric strings.
#[derive(ToSchema)]
pub struct AlertSettingsUpdate {
    #[schema(minimum = 30.0, maximum = 45.0)]
    pub max_temperature: Option<f64>,
    #[schema(minimum = 0, maximum = 86400)]
    pub abnormal_position_timeout: Option<u32>,
    #[schema(minimum = 0, maximum = 86400)]
    pub crying_duration_threshold: Option<u32>,
    pub push_notifications_enabled: Option<bool>,
    pub email_notifications_enabled: Option<bool>,
    pub offline_alert_enabled: Option<bool>,
    #[schema(minimum = 10, maximum = 3600)]
    pub offline_after: Option<u32>,
    pub camera_silent_alert_enabled: Option<bool>,
    #[schema(minimum = 10, maximum = 3600)]
    pub camera_silent_after: Option<u32>,
    pub sensor_fault_alert_enabled: Option<bool>,
    #[schema(minimum = 1, maximum = 60)]
    pub max_rock_minutes: Option<u32>,
    pub soothing_enabled: Option<bool>,
    #[schema(minimum = 5, maximum = 600)]
    pub soothe_after: Option<u32>,
    #[schema(minimum = 1, maximum = 60)]
    pub soothe_minutes: Option<u32>,
}

#[derive(ToSchema)]
pub struct SettingsSaved {
    /// Always `true`.
    pub success: bool,
    pub settings: AlertSettings,
}

#[derive(ToSchema)]
pub struct MotorCommand {
    pub action: MotorAction,
}

#[derive(ToSchema)]
pub struct MotorCommandSent {
    /// Always `true`.
    pub success: bool,
    pub action: MotorAction,
    /// When the hub stops the rocking by itself; `null` after a stop.
    #[schema(required = true, format = DateTime)]
    pub rocking_stops_at: Option<String>,
}

#[derive(ToSchema)]
pub struct MotorLogEntry {
    #[schema(format = DateTime)]
    pub at: String,
    pub action: MotorAction,
    pub by: super::common::Actor,
    #[schema(required = true)]
    pub username: Option<String>,
    /// The cradle's connection (or the broker) took it.
    pub sent: bool,
    #[schema(required = true)]
    pub error: Option<String>,
}

#[derive(ToSchema)]
pub struct MotorLog {
    pub entries: Vec<MotorLogEntry>,
}

#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum HubEventName {
    Snapshot,
    Status,
    Alert,
    AlertResolved,
    AlertReminder,
    UnreadCount,
}

/// One Server-Sent Event of `/api/events`, as OpenAPI 3.2's `itemSchema`
/// reads a `text/event-stream`.
#[derive(ToSchema)]
pub struct HubEvent {
    pub event: HubEventName,
    /// Counts from 1 on each connection.
    pub id: Option<String>,
    /// JSON: `snapshot` is `{"cradles": [{"uuid", "status"}], "unresolved_alerts": [Alert], "unread_count"}`,
    /// `status` is `{"uuid", "status"}` (status as `/api/agent_status`),
    /// `unread_count` is `{"unread_count"}` (your unread notifications, sent
    /// when it changes), the others an Alert.
    pub data: String,
}

/// Your alerts of the last 24 h, newest first, at most 50.
#[utoipa::path(get, path = "/api/alert_logs", tag = "alerts",
    security(("cradle_session" = [])),
    responses((status = 200, description = "Alerts", body = Vec<Alert>)))]
pub fn alert_logs() {}

/// The cradle's alerts of the last 30 days.
#[utoipa::path(get, path = "/api/alert_history/{uuid}", tag = "alerts",
    params(("uuid" = String, Path)),
    security(("cradle_session" = [])),
    responses((status = 200, description = "Alerts", body = Vec<Alert>)))]
pub fn alert_history() {}

/// An alert and what was recorded around it.
#[utoipa::path(get, path = "/api/alert_detail/{id}", tag = "alerts",
    params(("id" = i64, Path)),
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "Alert detail", body = AlertDetail),
        (status = 404, description = "No such alert of yours", body = ErrorBody),
    ))]
pub fn alert_detail() {}

/// One recorded frame.
#[utoipa::path(get, path = "/api/alert_frame/{id}", tag = "alerts",
    params(
        ("id" = i64, Path),
        ("token" = Option<String>, Query, description = "From /api/media_token"),
    ),
    security(("cradle_session" = []), ("media_token" = [])),
    responses(
        (status = 200, description = "The frame", body = Vec<u8>, content_type = "image/jpeg"),
        (status = 404, description = "No such frame of yours", body = ErrorBody),
    ))]
pub fn alert_frame() {}

/// Marks an alert resolved.
#[utoipa::path(post, path = "/api/alert_logs/{id}/resolve", tag = "alerts",
    params(("id" = i64, Path)),
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "Resolved", body = SuccessOnly),
        (status = 404, description = "No such alert of yours", body = ErrorBody),
    ))]
pub fn resolve_alert() {}

/// The alert's recorded frames as MP4.
#[utoipa::path(get, path = "/api/alert_clip/{id}", tag = "alerts",
    params(
        ("id" = i64, Path),
        ("token" = Option<String>, Query, description = "From /api/media_token"),
        ("range" = Option<String>, Header, description = "One `bytes=` range"),
    ),
    security(("cradle_session" = []), ("media_token" = [])),
    responses(
        (status = 200, description = "The clip", body = Vec<u8>, content_type = "video/mp4"),
        (status = 206, description = "The requested range", body = Vec<u8>, content_type = "video/mp4"),
        (status = 404, description = "No such alert of yours, or nothing recorded", body = ErrorBody),
        (status = 416, description = "Range outside the clip (no body)"),
    ))]
pub fn alert_clip() {}

/// The cradle's alert settings.
#[utoipa::path(get, path = "/api/alert_settings/{uuid}", tag = "settings", operation_id = "alert_settings_get",
    params(("uuid" = String, Path)),
    security(("cradle_session" = [])),
    responses((status = 200, description = "Settings", body = AlertSettings)))]
pub fn alert_settings_get() {}

/// Changes the fields given.
#[utoipa::path(post, path = "/api/alert_settings/{uuid}", tag = "settings", operation_id = "alert_settings_set",
    params(("uuid" = String, Path)),
    request_body = AlertSettingsUpdate,
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "Saved", body = SettingsSaved),
        (status = 400, description = "A value out of range or of the wrong type (named)", body = ErrorBody),
    ))]
pub fn alert_settings_set() {}

/// Starts or stops rocking; publishes `cradle/<uuid>/servo`.
#[utoipa::path(post, path = "/control_motor/{uuid}", tag = "control",
    params(("uuid" = String, Path)),
    request_body = MotorCommand,
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "Sent", body = MotorCommandSent),
        (status = 400, description = "action missing or not start/stop", body = ErrorBody),
        (status = 429, description = "Too many commands, or a restart too soon after a stop (Retry-After)", body = ErrorBody,
            headers(("retry-after" = u64, description = "Seconds"))),
        (status = 500, description = "The command could not be sent (cradle not connected, broker down)", body = ErrorBody),
    ))]
pub fn control_motor() {}

/// The cradle's motor commands, newest first.
#[utoipa::path(get, path = "/api/cradles/{uuid}/motor_log", tag = "control",
    params(
        ("uuid" = String, Path),
        ("limit" = Option<u32>, Query, description = "Default 100; clamped to 1..=500"),
    ),
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "Log", body = MotorLog),
        (status = 400, description = "limit not a non-negative integer", body = ErrorBody),
    ))]
pub fn motor_log() {}

/// Server-Sent Events for the logged-in user: `snapshot` first (every
/// cradle's status, unresolved alerts of the last 24 h, unread count), then
/// `status`, `alert`, `alert_resolved`, `alert_reminder` and `unread_count`,
/// each JSON.
#[utoipa::path(get, path = "/api/events", tag = "monitoring",
    params(("lang" = Option<Language>, Query, description = "`en` or `ko` (EventSource cannot set Accept-Language)")),
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "Event stream (the schema is one event's)", body = HubEvent, content_type = "text/event-stream"),
        (status = 400, description = "Unknown lang", body = ErrorBody),
    ))]
pub fn events() {}
