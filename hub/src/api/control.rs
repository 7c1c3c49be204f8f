//! `/control_motor/<uuid>`: rock or stop the cradle.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::i18n::Msg;
use crate::mqtt::ServoError;

use super::{ApiError, AppState, JsonObject, OwnedCradle};

pub async fn control_motor(
    State(state): State<AppState>,
    owned: OwnedCradle,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let start = match body.opt_str("action") {
        Ok(Some("start")) => true,
        Ok(Some("stop")) => false,
        Ok(None) => return Err(ApiError::bad_request(Msg::MissingField("action"))),
        _ => return Err(ApiError::bad_request(Msg::BadAction)),
    };
    state
        .mqtt
        .publish_servo(&owned.cradle.uuid, start)
        .map_err(|e| {
            let msg = match e {
                ServoError::Endpoint(_) => Msg::CradleNotConnected,
                ServoError::Broker(_) => Msg::MotorUnavailable,
            };
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, msg).with_detail(e.to_string())
        })?;
    owned.cradle.set_rocking(start);
    tracing::info!(uuid = %owned.cradle.uuid, action = if start { "start" } else { "stop" }, "motor command sent");
    Ok(
        Json(json!({"success": true, "action": if start { "start" } else { "stop" }}))
            .into_response(),
    )
}
