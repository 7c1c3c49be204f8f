//! Status, latest readings, history and the SSE status streams.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::{Instant, interval_at};

use crate::i18n::Msg;
use crate::live::{CradleStatus, Link};
use crate::store::{Store, sensors};
use crate::timefmt::{Millis, format_millis, now_millis, parse_time};

use super::{ApiError, AppState, MemberOf, Watch};

/// Most readings one history answer carries (about half a day of one
/// cradle's); a range holding more is refused with 400 (ask for less).
pub const HISTORY_LIMIT: usize = 500_000;
/// Readings read per query while a long history answer is streamed: the
/// answer is read page by page as the client takes it, and a client that
/// goes away stops the reading.
const HISTORY_PAGE: usize = 4_096;

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
        "rocking": s.motor_known.then_some(s.rocking.is_some()),
        "rocking_since": s.rocking.map(|r| format_millis(r.since)),
        "rocking_stops_at": s.rocking.map(|r| format_millis(r.stops_at)),
        "rocking_by": s.rocking.map(|r| r.by),
        "online": s.online(now_millis()),
        "last_seen": s.last_seen().map(format_millis),
        "connection": connection_json(s.link.as_ref()),
    })
}

/// The cradle's MQTT connection as the hub's endpoint sees it; `null` with
/// an external broker (then `online` follows the last message).
fn connection_json(link: Option<&Link>) -> Value {
    match link {
        None => Value::Null,
        Some(Link::Up { since }) => json!({"state": "connected", "since": format_millis(*since)}),
        Some(Link::Down { since, reason }) => {
            json!({"state": "disconnected", "since": format_millis(*since), "reason": reason})
        }
    }
}

pub async fn agent_status(owned: MemberOf<Watch>) -> Json<Value> {
    Json(status_json(&owned.cradle.uuid, &owned.cradle.status()))
}

/// The latest reading of each kind (not just the latest message).
pub async fn latest(owned: MemberOf<Watch>) -> Json<Value> {
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
    owned: MemberOf<Watch>,
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
    // end_date is inclusive in the contract's wording; +1 ms makes the range half-open.
    let to = to.saturating_add(1);
    let uuid: Arc<str> = Arc::from(&*owned.cradle.uuid);
    let u = uuid.clone();
    let first = state
        .store
        .read(move |c| sensors::page(c, &u, from, to, None, HISTORY_PAGE))
        .await?;
    if first.len() < HISTORY_PAGE {
        return Ok(Json(sensor_rows(&first)).into_response());
    }
    let u = uuid.clone();
    let count = state
        .store
        .read(move |c| sensors::count_up_to(c, &u, from, to, HISTORY_LIMIT + 1))
        .await?;
    if count > HISTORY_LIMIT {
        return Err(ApiError::bad_request(Msg::RangeTooLarge(HISTORY_LIMIT))
            .with_detail(format!("more than {HISTORY_LIMIT} readings in range")));
    }
    let pager = Pager {
        store: state.store.clone(),
        uuid,
        from,
        to,
        next: Some(first),
        last: None,
        sent: 0,
        finished: false,
    };
    let body = futures_util::stream::unfold(pager, Pager::next_chunk);
    let mut res = Body::from_stream(body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(res)
}

/// A long history answer, one page of readings per chunk of the body.
struct Pager {
    store: Store,
    uuid: Arc<str>,
    from: Millis,
    to: Millis,
    /// The page to send next (the first one is read before answering).
    next: Option<Vec<sensors::SensorRow>>,
    /// Key of the last row sent.
    last: Option<(Millis, i64)>,
    sent: usize,
    finished: bool,
}

impl Pager {
    async fn next_chunk(mut self) -> Option<(Result<Bytes, std::io::Error>, Pager)> {
        if self.finished {
            return None;
        }
        let rows = match self.next.take() {
            Some(rows) => rows,
            None => {
                let (uuid, from, to) = (self.uuid.clone(), self.from, self.to);
                let after = self.last;
                match self
                    .store
                    .read(move |c| sensors::page(c, &uuid, from, to, after, HISTORY_PAGE))
                    .await
                {
                    Ok(rows) => rows,
                    Err(e) => {
                        // The status line is sent: all we can do is cut the body short.
                        tracing::warn!(error = %e, "history: page read failed; answer cut");
                        self.finished = true;
                        return Some((Err(std::io::Error::other(e)), self));
                    }
                }
            }
        };
        let room = HISTORY_LIMIT - self.sent;
        let last_page = rows.len() < HISTORY_PAGE || rows.len() >= room;
        let rows = &rows[..rows.len().min(room)];
        let mut buf = Vec::with_capacity(rows.len() * 96 + 2);
        for (i, row) in sensor_rows(rows).iter().enumerate() {
            buf.push(if self.sent == 0 && i == 0 { b'[' } else { b',' });
            if let Err(e) = serde_json::to_writer(&mut buf, row) {
                self.finished = true;
                return Some((Err(std::io::Error::other(e)), self));
            }
        }
        if self.sent == 0 && rows.is_empty() {
            buf.push(b'[');
        }
        self.sent += rows.len();
        self.last = rows.last().map(|r| (r.ts, r.id)).or(self.last);
        if last_page {
            buf.push(b']');
            self.finished = true;
        }
        Some((Ok(Bytes::from(buf)), self))
    }
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

pub async fn crying_sse(
    State(state): State<AppState>,
    owned: MemberOf<Watch>,
) -> impl IntoResponse {
    let end = super::stream_lifetime(&state, owned.user.public_id.clone());
    status_sse(end, owned, |s| {
        s.crying.map_or(UNKNOWN, |c| c.as_str()).to_owned()
    })
}

pub async fn direction_sse(
    State(state): State<AppState>,
    owned: MemberOf<Watch>,
) -> impl IntoResponse {
    let end = super::stream_lifetime(&state, owned.user.public_id.clone());
    status_sse(end, owned, |s| {
        s.direction.as_ref().map_or(UNKNOWN, |d| d.raw()).to_owned()
    })
}

/// Sends the projected value at once, again whenever it changes, and
/// repeats it about once a second (the contract's rhythm) in between.
/// Ends with `end` (shutdown or the session's end).
fn status_sse(
    end: impl std::future::Future<Output = ()> + Send + 'static,
    owned: MemberOf<Watch>,
    project: fn(&CradleStatus) -> String,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    const REPEAT: Duration = Duration::from_secs(1);
    let rx = owned.cradle.subscribe_status();
    let tick = interval_at(Instant::now() + REPEAT, REPEAT);
    let (cradle, viewer) = (owned.cradle.clone(), owned.user.user_id);
    let stream = futures_util::stream::unfold(
        (rx, tick, None::<String>),
        move |(mut rx, mut tick, last)| {
            let cradle = cradle.clone();
            async move {
                loop {
                    // Removed from the household: the stream ends.
                    cradle.role_of(viewer)?;
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
            }
        },
    )
    .take_until(end);
    Sse::new(stream).keep_alive(KeepAlive::default())
}
