//! Alert lists, details, recorded frames, clips and resolving.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::alerts::RECORDING;
use crate::i18n::{Lang, Msg};
use crate::store::alerts::{self as alert_rows, AlertRow};
use crate::store::{frames, sensors};
use crate::timefmt::{format_millis, now_millis};

use super::media::{ClipKey, serve_clip};
use super::monitoring::sensor_rows;
use super::{ApiError, AppState, CurrentUser, MediaAuth, MemberOf, Watch};
use crate::household::Need;

const DAY_MS: i64 = 86_400_000;

pub fn alert_json(a: &AlertRow, lang: Lang) -> Value {
    let message = crate::alerts::message(a, lang);
    json!({
        "id": a.id,
        "agent_uuid": a.agent_uuid,
        "alert_type": a.alert_type,
        "message": message,
        "alert_message": message,
        "temperature": a.temperature,
        "face_detected": a.face_detected,
        "notification_sent": a.notification_sent,
        "resolved": a.resolved,
        "created_at": format_millis(a.created_at),
        "resolved_at": a.resolved_at.map(format_millis),
        // Additions beyond the contract:
        "critical": crate::alerts::is_critical(a),
    })
}

/// The alert if the user's role on its cradle allows `need`: 404 when the
/// cradle is not theirs, 403 when the role is too small. An alert not
/// stored yet (disk full) is found in memory.
pub async fn member_alert(
    state: &AppState,
    user_id: i64,
    id: i64,
    need: Need,
) -> Result<(AlertRow, std::sync::Arc<crate::live::CradleLive>), ApiError> {
    let stored = state.store.read(move |c| alert_rows::by_id(c, id)).await?;
    let alert = stored
        .or_else(|| state.alerts.unsaved(id).map(|(_, row)| row))
        .ok_or_else(ApiError::not_found)?;
    let (cradle, _) =
        super::extract::cradle_for(state, &alert.agent_uuid, user_id, need).map_err(|e| {
            if e.status == axum::http::StatusCode::NOT_FOUND {
                ApiError::not_found()
            } else {
                e
            }
        })?;
    Ok((alert, cradle))
}

pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    lang: Lang,
) -> Result<Response, ApiError> {
    let since = now_millis() - DAY_MS;
    let user_id = user.user_id;
    let stored = state
        .store
        .read(move |c| alert_rows::for_user(c, user_id, since, 50))
        .await?;
    let visible = |uuid: &str| state.live.access(uuid, user_id).is_some();
    let rows = with_unsaved(stored, state.alerts.unsaved_for(visible, since), 50);
    Ok(Json(rows.iter().map(|a| alert_json(a, lang)).collect::<Vec<_>>()).into_response())
}

pub async fn history(
    State(state): State<AppState>,
    owned: MemberOf<Watch>,
    lang: Lang,
) -> Result<Response, ApiError> {
    let since = now_millis() - 30 * DAY_MS;
    let uuid = owned.cradle.uuid.to_string();
    let unsaved = state.alerts.unsaved_for(|u| u == uuid, since);
    let stored = state
        .store
        .read(move |c| alert_rows::for_cradle(c, &uuid, since))
        .await?;
    let rows = with_unsaved(stored, unsaved, usize::MAX);
    Ok(Json(rows.iter().map(|a| alert_json(a, lang)).collect::<Vec<_>>()).into_response())
}

/// Stored alerts and the ones still in memory, newest first, at most `limit`.
fn with_unsaved(mut stored: Vec<AlertRow>, unsaved: Vec<AlertRow>, limit: usize) -> Vec<AlertRow> {
    if unsaved.is_empty() {
        return stored;
    }
    stored.retain(|s| !unsaved.iter().any(|u| u.id == s.id));
    stored.extend(unsaved);
    stored.sort_by_key(|a| std::cmp::Reverse((a.created_at, a.id)));
    stored.truncate(limit);
    stored
}

fn parse_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().map_err(|_| ApiError::not_found())
}

pub async fn detail(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    lang: Lang,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (alert, _) = member_alert(&state, user.user_id, parse_id(&id)?, Need::Watch).await?;
    let (from, to) = (
        alert.created_at - RECORDING.before_ms,
        alert.created_at + RECORDING.after_ms,
    );
    let (uuid, alert_id) = (alert.agent_uuid.clone(), alert.id);
    let (readings, frame_list) = state
        .store
        .read(move |c| {
            Ok((
                sensors::range(c, &uuid, from, to + 1, 10_000)?,
                frames::for_alert(c, alert_id)?,
            ))
        })
        .await?;
    let video_frames: Vec<Value> = frame_list
        .iter()
        .map(|(id, ts)| json!({"id": id, "timestamp": format_millis(*ts)}))
        .collect();
    Ok(Json(json!({
        "alert": alert_json(&alert, lang),
        "sensor_data": sensor_rows(&readings),
        "total_frames": video_frames.len(),
        "video_frames": video_frames,
        "recording": {
            "from": format_millis(from),
            "to": format_millis(to),
            "complete": now_millis() > to,
        },
    }))
    .into_response())
}

pub async fn frame(
    State(state): State<AppState>,
    auth: MediaAuth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let (uuid, jpeg) = state
        .store
        .read(move |c| frames::jpeg(c, id))
        .await?
        .ok_or_else(ApiError::not_found)?;
    auth.require_watcher_or_household_device(&state, &uuid)
        .await?;
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    // Recorded frames never change.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400, immutable"),
    );
    Ok((headers, Body::from(jpeg)).into_response())
}

pub async fn resolve(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (alert, cradle) = member_alert(&state, user.user_id, parse_id(&id)?, Need::Operate).await?;
    let (alert_id, alert_type, was_resolved) = (alert.id, alert.alert_type.clone(), alert.resolved);
    let owner = cradle.owner().unwrap_or(user.user_id);
    state.alerts.resolve(owner, alert, now_millis()).await?;
    if !was_resolved {
        let what = json!({"alert_id": alert_id, "alert_type": alert_type});
        super::activity::record(&state, &cradle.uuid, &user, "resolved", what).await;
    }
    Ok(Json(json!({"success": true})).into_response())
}

pub async fn clip(
    State(state): State<AppState>,
    auth: MediaAuth,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    auth.require_credentials()?;
    let id = parse_id(&id)?;
    let alert = state
        .store
        .read(move |c| alert_rows::by_id(c, id))
        .await?
        .ok_or_else(ApiError::not_found)?;
    auth.require_watcher(&state, &alert.agent_uuid).await?;
    let count = state
        .store
        .read(move |c| frames::for_alert(c, id))
        .await?
        .len();
    if count == 0 {
        return Err(ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            Msg::NoRecording,
        ));
    }
    let key = ClipKey::Alert { id, frames: count };
    serve_clip(&state, key, &headers, move |c| {
        frames::jpegs_for_alert(c, id)
    })
    .await
}
