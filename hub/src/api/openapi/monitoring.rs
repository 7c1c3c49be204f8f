//! Status, latest readings, history, the SSE streams, the live view and
//! recorded minutes.

use utoipa::ToSchema;

use super::common::{Actor, Crying, DirectionKind, ErrorBody};

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum LinkState {
    Connected,
    Disconnected,
}

/// The cradle's MQTT connection as the hub's own endpoint sees it.
#[derive(ToSchema)]
pub struct Connection {
    pub state: LinkState,
    #[schema(format = DateTime)]
    pub since: String,
    /// Only when disconnected.
    pub reason: Option<String>,
}

#[derive(ToSchema)]
pub struct AgentStatus {
    pub agent_uuid: String,
    #[schema(required = true)]
    pub temperature: Option<f64>,
    #[schema(required = true)]
    pub crying: Option<Crying>,
    /// The string the cradle sent (Korean).
    #[schema(required = true)]
    pub direction: Option<String>,
    #[schema(required = true)]
    pub face_direction: Option<String>,
    #[schema(required = true, format = DateTime)]
    pub last_direction_time: Option<String>,
    #[schema(required = true, format = DateTime)]
    pub last_normal_face_time: Option<String>,
    #[schema(required = true, format = DateTime)]
    pub last_update: Option<String>,
    #[schema(required = true)]
    pub direction_kind: Option<DirectionKind>,
    #[schema(required = true, format = DateTime)]
    pub temperature_time: Option<String>,
    #[schema(required = true, format = DateTime)]
    pub crying_time: Option<String>,
    #[schema(required = true, format = DateTime)]
    pub last_frame_time: Option<String>,
    /// `null` until the hub knows the motor's state.
    #[schema(required = true)]
    pub rocking: Option<bool>,
    #[schema(required = true, format = DateTime)]
    pub rocking_since: Option<String>,
    #[schema(required = true, format = DateTime)]
    pub rocking_stops_at: Option<String>,
    #[schema(required = true)]
    pub rocking_by: Option<Actor>,
    pub online: bool,
    #[schema(required = true, format = DateTime)]
    pub last_seen: Option<String>,
    /// `null` with an external broker.
    #[schema(required = true)]
    pub connection: Option<Connection>,
}

#[derive(ToSchema)]
pub struct LatestReadings {
    #[schema(required = true)]
    pub crying: Option<Crying>,
    #[schema(required = true)]
    pub direction: Option<String>,
    #[schema(required = true)]
    pub temperature: Option<f64>,
    #[schema(required = true, format = DateTime)]
    pub timestamp: Option<String>,
}

#[derive(ToSchema)]
pub struct SensorReading {
    #[schema(format = DateTime)]
    pub timestamp: String,
    #[schema(required = true)]
    pub temperature: Option<f64>,
    #[schema(required = true)]
    pub crying: Option<Crying>,
    #[schema(required = true)]
    pub direction: Option<String>,
}

#[derive(ToSchema)]
pub struct RecordedMinute {
    #[schema(format = DateTime)]
    pub start: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `HH:MM:SS`.
    pub time: String,
    pub frames: i64,
}

/// What the status streams say before the cradle has reported anything.
#[derive(ToSchema)]
pub enum CryingText {
    #[schema(rename = "Crying")]
    Crying,
    #[schema(rename = "Not Crying")]
    NotCrying,
    Unknown,
}

/// One Server-Sent Event of `/crying_status`, as OpenAPI 3.2's
/// `itemSchema` reads a `text/event-stream`.
#[derive(ToSchema)]
pub struct CryingEvent {
    pub data: CryingText,
}

/// One Server-Sent Event of `/direction_status`.
#[derive(ToSchema)]
pub struct DirectionEvent {
    /// The direction string the cradle sent, or `Unknown`.
    pub data: String,
}

/// The cradle's current state.
#[utoipa::path(get, path = "/api/agent_status/{uuid}", tag = "monitoring",
    params(("uuid" = String, Path)),
    security(("cradle_session" = [])),
    responses((status = 200, description = "Status", body = AgentStatus)))]
pub fn agent_status() {}

/// The latest reading of each kind.
#[utoipa::path(get, path = "/get_sensor_data/{uuid}", tag = "monitoring",
    params(("uuid" = String, Path)),
    security(("cradle_session" = [])),
    responses((status = 200, description = "Latest readings", body = LatestReadings)))]
pub fn latest_readings() {}

/// Readings in a time range, in time order (`end_date` inclusive).
#[utoipa::path(get, path = "/api/sensor_data/{uuid}", tag = "monitoring",
    params(
        ("uuid" = String, Path),
        ("start_date" = String, Query, format = DateTime, description = "RFC 3339, or naive (read as UTC)"),
        ("end_date" = String, Query, format = DateTime, description = "RFC 3339, or naive (read as UTC)"),
    ),
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "Readings", body = Vec<SensorReading>),
        (status = 400, description = "A date is missing or bad, the end is before the start, or the range holds too many readings", body = ErrorBody),
    ))]
pub fn sensor_history() {}

/// Server-Sent Events: `data: Crying`, `Not Crying` or `Unknown`, at once,
/// on every change and about once a second.
#[utoipa::path(get, path = "/crying_status/{uuid}", tag = "monitoring",
    params(("uuid" = String, Path)),
    security(("cradle_session" = [])),
    responses((status = 200, description = "Event stream (the schema is one event's)", body = CryingEvent, content_type = "text/event-stream")))]
pub fn crying_status() {}

/// Server-Sent Events: `data: <direction>` (or `Unknown`), at once, on
/// every change and about once a second.
#[utoipa::path(get, path = "/direction_status/{uuid}", tag = "monitoring",
    params(("uuid" = String, Path)),
    security(("cradle_session" = [])),
    responses((status = 200, description = "Event stream (the schema is one event's)", body = DirectionEvent, content_type = "text/event-stream")))]
pub fn direction_status() {}

/// The live view: one `image/jpeg` part per frame, boundary `frame`.
#[utoipa::path(get, path = "/stream/{uuid}", tag = "media",
    params(
        ("uuid" = String, Path),
        ("token" = Option<String>, Query, description = "From /api/media_token, for viewers without the cookie"),
    ),
    security(("cradle_session" = []), ("media_token" = [])),
    responses((status = 200, description = "MJPEG stream", body = Vec<u8>, content_type = "multipart/x-mixed-replace")))]
pub fn live_stream() {}

/// The recorded frames of the minute starting at `date`/`time` (UTC), as MP4.
#[utoipa::path(get, path = "/api/video/{uuid}", tag = "media",
    params(
        ("uuid" = String, Path),
        ("date" = String, Query, pattern = r"^\d{4}-\d{2}-\d{2}$", description = "YYYY-MM-DD"),
        ("time" = String, Query, pattern = r"^\d{2}:\d{2}(:\d{2})?$", description = "HH:MM:SS or HH:MM"),
        ("range" = Option<String>, Header, description = "One `bytes=` range"),
    ),
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "The clip", body = Vec<u8>, content_type = "video/mp4"),
        (status = 206, description = "The requested range", body = Vec<u8>, content_type = "video/mp4"),
        (status = 400, description = "date or time missing or bad", body = ErrorBody),
        (status = 404, description = "Not one of yours, or nothing recorded in that minute", body = ErrorBody),
        (status = 416, description = "Range outside the clip (no body)"),
    ))]
pub fn video() {}

/// The minutes of a UTC day that have recorded frames.
#[utoipa::path(get, path = "/api/recordings/{uuid}", tag = "media",
    params(
        ("uuid" = String, Path),
        ("date" = Option<String>, Query, pattern = r"^\d{4}-\d{2}-\d{2}$", description = "YYYY-MM-DD; default today"),
    ),
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "Recorded minutes", body = Vec<RecordedMinute>),
        (status = 400, description = "Bad date", body = ErrorBody),
    ))]
pub fn recordings() {}
