//! `/register_agent`, `/register_cradle`, `/select_cradle`,
//! `/delete_cradle`, `/api/agents`, media tokens and the MQTT password.

use utoipa::ToSchema;

use super::common::{ErrorBody, MessageOk};

#[derive(ToSchema)]
pub struct RegisterAgent {
    /// Becomes an MQTT topic level: no `/`, `+`, `#` or control characters.
    #[schema(min_length = 1, max_length = 128)]
    pub uuid: String,
    /// At most 64 bytes, no control characters.
    #[schema(min_length = 1, max_length = 64)]
    pub ip: String,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum SuccessStatus {
    Success,
}

#[derive(ToSchema)]
pub struct AgentRegistered {
    pub status: SuccessStatus,
    pub message: String,
}

#[derive(ToSchema)]
pub struct ClaimCradle {
    /// The text of the QR code the cradle shows.
    #[schema(min_length = 1)]
    pub cradle_uuid: String,
}

#[derive(ToSchema)]
pub struct CradleRef {
    #[schema(min_length = 1)]
    pub uuid: String,
}

#[derive(ToSchema)]
pub struct Agent {
    pub id: i64,
    pub uuid: String,
    pub ip: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// The address before the cradle came back from another one while claimed.
    #[schema(required = true)]
    pub previous_ip: Option<String>,
    #[schema(required = true, format = DateTime)]
    pub ip_changed_at: Option<String>,
}

#[derive(ToSchema)]
pub struct CradleClaimed {
    /// Always `true`.
    pub success: bool,
    pub message: String,
    pub agent: Agent,
}

/// One of the user's cradles, with its live state.
#[derive(ToSchema)]
pub struct AgentListItem {
    pub id: i64,
    pub uuid: String,
    pub ip: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    #[schema(required = true)]
    pub previous_ip: Option<String>,
    #[schema(required = true, format = DateTime)]
    pub ip_changed_at: Option<String>,
    #[schema(required = true, format = DateTime)]
    pub last_update: Option<String>,
    #[schema(required = true, format = DateTime)]
    pub last_seen: Option<String>,
    pub online: bool,
    pub mqtt_password_required: bool,
    /// The cradle chosen with `/select_cradle` in this session.
    pub selected: bool,
    /// Yours (`owner`), or shared with you as `parent` or `viewer`.
    pub role: super::household::Role,
}

#[derive(ToSchema)]
pub struct MediaToken {
    /// For `?token=` on the cradle's media URLs.
    pub token: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
}

#[derive(ToSchema)]
pub struct MqttPasswordState {
    pub required: bool,
    /// The MQTT user name the cradle logs in with (its uuid).
    pub username: String,
}

#[derive(ToSchema)]
pub struct MqttPasswordSwitch {
    pub required: bool,
}

#[derive(ToSchema)]
pub struct MqttPasswordChanged {
    /// Always `true`.
    pub success: bool,
    pub required: bool,
    pub username: String,
    /// Only when turned on; shown this once.
    pub password: Option<String>,
    pub message: String,
}

/// Called by a cradle on boot: creates it, or updates its address.
#[utoipa::path(post, path = "/register_agent", tag = "cradles",
    request_body = RegisterAgent,
    responses(
        (status = 200, description = "Registered", body = AgentRegistered),
        (status = 400, description = "uuid or ip missing or invalid", body = ErrorBody),
    ))]
pub fn register_agent() {}

/// Claims a cradle for the logged-in user.
#[utoipa::path(post, path = "/register_cradle", tag = "cradles",
    request_body = ClaimCradle,
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "Claimed", body = CradleClaimed),
        (status = 400, description = "cradle_uuid missing", body = ErrorBody),
        (status = 404, description = "No cradle of that uuid has registered", body = ErrorBody),
        (status = 409, description = "Another account owns it", body = ErrorBody),
        (status = 503, description = "Busy, or the cradle's earlier data is still being deleted (Retry-After)", body = ErrorBody,
            headers(("retry-after" = u64, description = "Seconds"))),
    ))]
pub fn register_cradle() {}

/// Remembers a cradle as this session's selected one.
#[utoipa::path(post, path = "/select_cradle", tag = "cradles",
    request_body = CradleRef,
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "Selected", body = MessageOk),
        (status = 400, description = "uuid missing", body = ErrorBody),
        (status = 404, description = "Not one of yours", body = ErrorBody),
    ))]
pub fn select_cradle() {}

/// Unclaims a cradle and deletes its data.
#[utoipa::path(post, path = "/delete_cradle", tag = "cradles",
    request_body = CradleRef,
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "Removed", body = MessageOk),
        (status = 400, description = "uuid missing", body = ErrorBody),
        (status = 404, description = "Not one of yours", body = ErrorBody),
    ))]
pub fn delete_cradle() {}

/// The logged-in user's cradles.
#[utoipa::path(get, path = "/api/agents", tag = "cradles",
    security(("cradle_session" = [])),
    responses((status = 200, description = "Your cradles", body = Vec<AgentListItem>)))]
pub fn list_agents() {}

/// A signed token for the cradle's media URLs, valid for an hour.
#[utoipa::path(get, path = "/api/media_token/{uuid}", tag = "cradles", operation_id = "media_token_get",
    params(("uuid" = String, Path)),
    security(("cradle_session" = [])),
    responses((status = 200, description = "Token", body = MediaToken)))]
pub fn media_token_get() {}

/// A signed token for the cradle's media URLs, valid for an hour.
#[utoipa::path(post, path = "/api/media_token/{uuid}", tag = "cradles", operation_id = "media_token",
    params(("uuid" = String, Path)),
    security(("cradle_session" = [])),
    responses((status = 200, description = "Token", body = MediaToken)))]
pub fn media_token() {}

/// Whether the cradle must log in to the hub's MQTT endpoint.
#[utoipa::path(get, path = "/api/cradles/{uuid}/mqtt_password", tag = "cradles", operation_id = "mqtt_password_get",
    params(("uuid" = String, Path)),
    security(("cradle_session" = [])),
    responses((status = 200, description = "Current setting", body = MqttPasswordState)))]
pub fn mqtt_password_get() {}

/// Turns the cradle's MQTT password on (a new one each time) or off.
#[utoipa::path(post, path = "/api/cradles/{uuid}/mqtt_password", tag = "cradles", operation_id = "mqtt_password_set",
    params(("uuid" = String, Path)),
    request_body = MqttPasswordSwitch,
    security(("cradle_session" = [])),
    responses(
        (status = 200, description = "Changed", body = MqttPasswordChanged),
        (status = 400, description = "required missing or not a boolean", body = ErrorBody),
    ))]
pub fn mqtt_password_set() {}
