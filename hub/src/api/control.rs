//! `/control_motor/<uuid>`: rock or stop the cradle, and its motor log.

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::i18n::Msg;
use crate::motor::{Action, Requester};
use crate::store::motor_log;
use crate::timefmt::format_millis;

use super::{ApiError, AppState, JsonObject, MemberOf, Operate, Watch};

pub async fn control_motor(
    State(state): State<AppState>,
    owned: MemberOf<Operate>,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let action = match body.opt_str("action") {
        Ok(Some(a)) => Action::parse(a).ok_or(ApiError::bad_request(Msg::BadAction))?,
        Ok(None) => return Err(ApiError::bad_request(Msg::MissingField("action"))),
        Err(_) => return Err(ApiError::bad_request(Msg::BadAction)),
    };
    let user = &owned.user;
    let requester = Requester {
        user_id: user.user_id,
        username: user.username.clone(),
    };
    state
        .motor
        .command(&owned.cradle.uuid, action, &requester)
        .await?;
    let done = match action {
        Action::Start => "rocked",
        Action::Stop => "stopped",
    };
    super::activity::record(&state, &owned.cradle.uuid, user, done, json!({})).await;
    let rocking = state.motor.rocking(&owned.cradle.uuid);
    Ok(Json(json!({
        "success": true,
        "action": action.as_str(),
        "rocking_stops_at": rocking.map(|r| format_millis(r.stops_at)),
    }))
    .into_response())
}

#[derive(serde::Deserialize)]
pub struct LogQuery {
    limit: Option<usize>,
}

/// `GET /api/cradles/<uuid>/motor_log`: the cradle's motor commands, newest
/// first (`?limit=`, at most 500, default 100).
pub async fn motor_log(
    State(state): State<AppState>,
    owned: MemberOf<Watch>,
    Query(q): Query<LogQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let uuid = owned.cradle.uuid.to_string();
    let entries = state
        .store
        .read(move |c| motor_log::for_cradle(c, &uuid, limit))
        .await?;
    let entries: Vec<Value> = entries
        .iter()
        .map(|e| {
            json!({
                "at": format_millis(e.at),
                "action": e.action,
                "by": e.actor,
                "username": e.username,
                "sent": e.sent,
                "error": e.error,
            })
        })
        .collect();
    Ok(Json(json!({ "entries": entries })))
}
