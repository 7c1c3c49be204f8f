//! Shapes many resources share: the error body, plain acknowledgements and
//! the value sets (crying, direction kinds, motor actors) the hub reports.

use utoipa::ToSchema;

/// Every refusal and failure the hub answers with JSON (rendered by
/// `api::error::localize`). `message` and `error` carry the same text:
/// existing clients read one or the other.
#[derive(ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    /// Always `false`.
    pub success: bool,
    pub status: ErrorStatus,
    /// In the request's language (`Accept-Language`: English or Korean).
    pub message: String,
    pub error: String,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum ErrorStatus {
    Error,
}

/// `{"success": true, "message": ...}`.
#[derive(ToSchema)]
pub struct MessageOk {
    /// Always `true`.
    pub success: bool,
    pub message: String,
}

/// `{"success": true}`.
#[derive(ToSchema)]
pub struct SuccessOnly {
    /// Always `true`.
    pub success: bool,
}

#[derive(ToSchema)]
pub enum Crying {
    #[schema(rename = "Crying")]
    Crying,
    #[schema(rename = "Not Crying")]
    NotCrying,
}

/// What the hub makes of the cradle's face direction string.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum DirectionKind {
    Frontal,
    Left,
    Right,
    NoFace,
    DetectorError,
    Checking,
    Other,
}

/// Who sent a motor command: a parent, the soothing loop, or the hub's
/// automatic stop.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum Actor {
    User,
    Soothing,
    Automatic,
}

#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum MotorAction {
    Start,
    Stop,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Language {
    En,
    Ko,
}
