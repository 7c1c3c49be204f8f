//! Status, latest readings, history and the SSE status streams.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::{Instant, interval_at};
use tokio_util::sync::CancellationToken;

use crate::i18n::Msg;
use crate::live::CradleStatus;
use crate::store::sensors;
use crate::timefmt::{format_millis, parse_time};

use super::{ApiError, AppState, OwnedCradle};

/// Most rows one history request returns (a day of one cradle's readings).
const HISTORY_LIMIT: usize = 500_000;

pub fn status_json(uuid: &str, s: &CradleStatus) -> Value {
    let direction = s.direction.as_ref().map(|d| d.raw());
    json!({
        "agent_uuid": uuid,
        "temperature": s.temperature,
        "crying": s.crying.map(|c| c.as_str()),
        "direction": direction,
        "face_direction": direction,
        "last_direction_time": s.direction_at.map(format_millis),
        "last_normal_face_time": s.last_normal_face_time.map(format_millis),
        "last_update": s.last_update().map(format_millis),
        // Additions beyond the contract:
        "direction_kind": s.direction.as_ref().map(|d| d.kind()),
        "temperature_time": s.temperature_at.map(format_millis),
        "crying_time": s.crying_at.map(format_millis),
        "last_frame_time": s.last_frame_at.map(format_millis),
        "rocking": s.rocking,
    })
}

pub async fn agent_status(owned: OwnedCradle) -> Json<Value> {
    Json(status_json(&owned.cradle.uuid, &owned.cradle.status()))
}

/// The latest reading of each kind (not just the latest message).
pub async fn latest(owned: OwnedCradle) -> Json<Value> {
    let s = owned.cradle.status();
    Json(json!({
        "crying": s.crying.map(|c| c.as_str()),
        "direction": s.direction.as_ref().map(|d| d.raw()),
        "temperature": s.temperature,
        "timestamp": s.last_update().map(format_millis),
    }))
}

#[derive(Deserialize)]
pub struct Range {
    start_date: Option<String>,
    end_date: Option<String>,
}

pub async fn history(
    State(state): State<AppState>,
    owned: OwnedCradle,
    query: Result<Query<Range>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(range) =
        query.map_err(|e| ApiError::bad_request(Msg::BadDate).with_detail(e.body_text()))?;
    let parse = |v: Option<String>, field: &'static str| -> Result<i64, ApiError> {
        let v = v.ok_or(ApiError::bad_request(Msg::MissingField(field)))?;
        parse_time(&v).ok_or(ApiError::bad_request(Msg::BadDate))
    };
    let from = parse(range.start_date, "start_date")?;
    let to = parse(range.end_date, "end_date")?;
    if to < from {
        return Err(ApiError::bad_request(Msg::BadDate).with_detail("end before start"));
    }
    let uuid = owned.cradle.uuid.clone();
    // end_date is inclusive in the contract's wording; +1 ms makes the range half-open.
    let rows = state
        .store
        .read(move |c| sensors::range(c, &uuid, from, to.saturating_add(1), HISTORY_LIMIT))
        .await?;
    Ok(Json(sensor_rows(&rows)).into_response())
}

/// Readings as the API shows them (`/api/sensor_data`, `/api/alert_detail`).
/// Typed rows serialize without building a JSON tree: a day of readings is large.
pub fn sensor_rows(rows: &[sensors::SensorRow]) -> Vec<HistoryRow<'_>> {
    rows.iter()
        .map(|r| HistoryRow {
            timestamp: format_millis(r.ts),
            temperature: r.temperature,
            crying: r.crying.map(|c| c.as_str()),
            direction: r.direction.as_deref(),
        })
        .collect()
}

#[derive(serde::Serialize)]
pub struct HistoryRow<'a> {
    timestamp: String,
    temperature: Option<f64>,
    crying: Option<&'static str>,
    direction: Option<&'a str>,
}

/// What an SSE stream says before the cradle has reported anything.
const UNKNOWN: &str = "Unknown";

pub async fn crying_sse(State(state): State<AppState>, owned: OwnedCradle) -> impl IntoResponse {
    status_sse(state.tasks.token().clone(), owned, |s| {
        s.crying.map_or(UNKNOWN, |c| c.as_str()).to_owned()
    })
}

pub async fn direction_sse(State(state): State<AppState>, owned: OwnedCradle) -> impl IntoResponse {
    status_sse(state.tasks.token().clone(), owned, |s| {
        s.direction.as_ref().map_or(UNKNOWN, |d| d.raw()).to_owned()
    })
}

/// Sends the projected value at once, again whenever it changes, and
/// repeats it about once a second (the contract's rhythm) in between.
/// Ends when the hub shuts down.
fn status_sse(
    stop: CancellationToken,
    owned: OwnedCradle,
    project: fn(&CradleStatus) -> String,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    const REPEAT: Duration = Duration::from_secs(1);
    let rx = owned.cradle.subscribe_status();
    let tick = interval_at(Instant::now() + REPEAT, REPEAT);
    let stream = futures_util::stream::unfold(
        (rx, tick, None::<String>),
        move |(mut rx, mut tick, last)| async move {
            loop {
                let current = project(&rx.borrow_and_update());
                if last.as_deref() != Some(current.as_str()) {
                    tick.reset();
                    let event = Event::default().data(&current);
                    return Some((Ok(event), (rx, tick, Some(current))));
                }
                tokio::select! {
                    changed = rx.changed() => if changed.is_err() { return None },
                    _ = tick.tick() => {
                        let event = Event::default().data(&current);
                        return Some((Ok(event), (rx, tick, Some(current))));
                    }
                }
            }
        },
    )
    .take_until(stop.cancelled_owned());
    Sse::new(stream).keep_alive(KeepAlive::default())
}
