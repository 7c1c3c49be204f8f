//! Recorded media: MP4 clips by minute (`/api/video`) and the shared
//! machinery for clips (cache, HTTP ranges, cookie-or-token auth).

use std::collections::VecDeque;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Semaphore;

use crate::i18n::Msg;
use crate::media::clip::{ClipError, encode_mp4};
use crate::store::frames;
use crate::timefmt::{Millis, format_millis, now_millis, parse_time};

use super::{ApiError, AppState, MemberOf, Watch};

/// Identifies a clip's content: a growing recording has a new key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClipKey {
    Alert {
        id: i64,
        frames: usize,
    },
    Minute {
        uuid: String,
        start: Millis,
        frames: usize,
    },
}

/// The last few encoded clips (a `<video>` asks for ranges repeatedly),
/// and one encode at a time so clips never starve ingest of CPU.
pub struct ClipCache {
    recent: Mutex<VecDeque<(ClipKey, Bytes)>>,
    encoders: Semaphore,
}

const CACHED_CLIPS: usize = 8;

impl Default for ClipCache {
    fn default() -> Self {
        ClipCache {
            recent: Mutex::new(VecDeque::new()),
            encoders: Semaphore::new(1),
        }
    }
}

impl ClipCache {
    fn get(&self, key: &ClipKey) -> Option<Bytes> {
        self.recent
            .lock()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, b)| b.clone())
    }
    fn put(&self, key: ClipKey, mp4: Bytes) {
        let mut recent = self.recent.lock();
        if recent.len() == CACHED_CLIPS {
            recent.pop_front();
        }
        recent.push_back((key, mp4));
    }
}

pub async fn serve_clip<F>(
    state: &AppState,
    key: ClipKey,
    headers: &HeaderMap,
    load: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(&rusqlite::Connection) -> Result<Vec<(Millis, Vec<u8>)>, rusqlite::Error>
        + Send
        + 'static,
{
    let mp4 = match state.clips.get(&key) {
        Some(mp4) => mp4,
        None => {
            let _permit = state
                .clips
                .encoders
                .acquire()
                .await
                .map_err(|_| ApiError::from(crate::store::StoreError::Closed))?;
            match state.clips.get(&key) {
                Some(mp4) => mp4,
                None => {
                    let jpegs = state.store.read(load).await?;
                    let started = std::time::Instant::now();
                    let clip = tokio::task::spawn_blocking(move || encode_mp4(&jpegs))
                        .await
                        .map_err(|e| {
                            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, Msg::Internal)
                                .with_detail(e.to_string())
                        })?
                        .map_err(|e| match e {
                            ClipError::Empty | ClipError::NothingDecodable => {
                                ApiError::new(StatusCode::NOT_FOUND, Msg::NoRecording)
                                    .with_detail(e.to_string())
                            }
                            other => {
                                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, Msg::Internal)
                                    .with_detail(other.to_string())
                            }
                        })?;
                    tracing::info!(
                        frames = clip.frames,
                        skipped = clip.skipped,
                        bytes = clip.mp4.len(),
                        ms = started.elapsed().as_millis() as u64,
                        "clip encoded"
                    );
                    let mp4 = Bytes::from(clip.mp4);
                    state.clips.put(key, mp4.clone());
                    mp4
                }
            }
        }
    };
    Ok(ranged_mp4(mp4, headers))
}

/// Serves the whole file or one `bytes=` range (what `<video>` seeking uses).
fn ranged_mp4(mp4: Bytes, headers: &HeaderMap) -> Response {
    let len = mp4.len() as u64;
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
        .filter(|v| !v.contains(','))
        .and_then(|v| v.split_once('-'))
        .and_then(|(a, b)| match (a.trim(), b.trim()) {
            ("", suffix) => suffix
                .parse::<u64>()
                .ok()
                .map(|n| (len.saturating_sub(n), len.saturating_sub(1))),
            (start, "") => start.parse().ok().map(|s| (s, len.saturating_sub(1))),
            (start, end) => Some((
                start.parse().ok()?,
                end.parse::<u64>().ok()?.min(len.saturating_sub(1)),
            )),
        });
    let mut res = match range {
        Some((start, end)) if start <= end && start < len => {
            let body = mp4.slice(start as usize..=end as usize);
            let mut res = (StatusCode::PARTIAL_CONTENT, Body::from(body)).into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{len}")) {
                res.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            res
        }
        Some(_) => {
            let mut res = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                res.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return res;
        }
        None => Body::from(mp4).into_response(),
    };
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("video/mp4"));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    res
}

#[derive(Deserialize)]
pub struct MinuteQuery {
    date: Option<String>,
    time: Option<String>,
}

/// `/api/video/<uuid>?date=YYYY-MM-DD&time=HH:MM:SS`: the recorded frames of
/// the minute starting there (UTC).
pub async fn video(
    State(state): State<AppState>,
    owned: MemberOf<Watch>,
    headers: HeaderMap,
    query: Result<Query<MinuteQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) =
        query.map_err(|e| ApiError::bad_request(Msg::BadDate).with_detail(e.body_text()))?;
    let date = q
        .date
        .ok_or(ApiError::bad_request(Msg::MissingField("date")))?;
    let time = q
        .time
        .ok_or(ApiError::bad_request(Msg::MissingField("time")))?;
    let valid_shape = date.len() == 10 && (time.len() == 8 || time.len() == 5);
    let start = valid_shape
        .then(|| {
            parse_time(&format!(
                "{date}T{time}{}",
                if time.len() == 5 { ":00" } else { "" }
            ))
        })
        .flatten()
        .ok_or(ApiError::bad_request(Msg::BadDate))?;
    let uuid = owned.cradle.uuid.to_string();
    let end = start + 60_000;
    let count_uuid = uuid.clone();
    let count = state
        .store
        .read(move |c| frames::minutes(c, &count_uuid, start, end))
        .await?
        .iter()
        .map(|(_, n)| *n as usize)
        .sum::<usize>();
    if count == 0 {
        return Err(ApiError::new(StatusCode::NOT_FOUND, Msg::NoRecording));
    }
    let key = ClipKey::Minute {
        uuid: uuid.clone(),
        start,
        frames: count,
    };
    serve_clip(&state, key, &headers, move |c| {
        frames::jpegs_in_range(c, &uuid, start, end)
    })
    .await
}

#[derive(Deserialize)]
pub struct DayQuery {
    date: Option<String>,
}

/// Added: the minutes of a UTC day that have recordings (for the history screen).
pub async fn recordings(
    State(state): State<AppState>,
    owned: MemberOf<Watch>,
    query: Result<Query<DayQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) =
        query.map_err(|e| ApiError::bad_request(Msg::BadDate).with_detail(e.body_text()))?;
    let start = match q.date {
        Some(d) => {
            parse_time(&format!("{d}T00:00:00")).ok_or(ApiError::bad_request(Msg::BadDate))?
        }
        None => now_millis() / 86_400_000 * 86_400_000,
    };
    let uuid = owned.cradle.uuid.to_string();
    let minutes = state
        .store
        .read(move |c| frames::minutes(c, &uuid, start, start + 86_400_000))
        .await?;
    let list: Vec<_> = minutes
        .iter()
        .map(|(m, n)| {
            let t = format_millis(*m);
            json!({"start": t, "date": &t[..10], "time": &t[11..19], "frames": n})
        })
        .collect();
    Ok(Json(list).into_response())
}
