//! `/api/events`: one Server-Sent-Events stream per logged-in user. It sends
//! a `snapshot` (every cradle's status and the unresolved alerts of the last
//! 24 h) first, then `status`, `alert` and `alert_resolved` events as they
//! happen, and `alert_reminder` when an alert is still unresolved after 5
//! minutes. A reconnect (with or without `Last-Event-ID`) gets a fresh
//! snapshot, so a client never needs to replay anything.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::{ReceiverStream, WatchStream};

use crate::alerts::HubEvent;
use crate::i18n::Lang;
use crate::store::alerts as alert_rows;
use crate::timefmt::now_millis;

use super::alerts::alert_json;
use super::monitoring::status_json;
use super::{AppState, CurrentUser};

/// Most unresolved alerts a snapshot carries (a day of a busy household).
const SNAPSHOT_ALERTS: usize = 500;

#[derive(serde::Deserialize)]
pub struct EventsQuery {
    /// EventSource cannot set Accept-Language: `?lang=ko` chooses instead.
    lang: Option<Lang>,
}

pub async fn events(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    header_lang: Lang,
    // A bad `?lang=` is refused by the extractor: `error::localize` renders it
    // as the JSON error like any other.
    Query(query): Query<EventsQuery>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let lang = query.lang.unwrap_or(header_lang);
    let (tx, rx) = mpsc::channel::<Event>(64);
    // Ends when the client goes, the session ends or the hub shuts down
    // (the stream then ends cleanly).
    let end = super::stream_lifetime(&state, user.public_id.clone());
    tokio::spawn(async move {
        tokio::select! {
            _ = end => {}
            _ = run(state, user.user_id, lang, tx) => {}
        }
    });
    let stream = ReceiverStream::new(rx).map(Ok);
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

async fn snapshot(state: &AppState, user_id: i64, lang: Lang) -> Value {
    let cradles: Vec<Value> = state
        .live
        .owned_by(user_id)
        .iter()
        .map(|c| json!({"uuid": &*c.uuid, "status": status_json(&c.uuid, &c.status())}))
        .collect();
    let since = now_millis() - 86_400_000;
    // Complete (screens replace their unresolved set with it): the stored
    // ones and those still waiting to be stored (disk full).
    let mut unresolved = state
        .store
        .read(move |c| alert_rows::unresolved_for_user(c, user_id, since, SNAPSHOT_ALERTS))
        .await
        .unwrap_or_default();
    let waiting = state.alerts.unsaved_for(user_id, None, since);
    unresolved.retain(|a| !waiting.iter().any(|w| w.id == a.id));
    unresolved.extend(waiting.into_iter().filter(|a| !a.resolved));
    unresolved.sort_by_key(|a| std::cmp::Reverse((a.created_at, a.id)));
    unresolved.truncate(SNAPSHOT_ALERTS);
    let alerts: Vec<Value> = unresolved.iter().map(|a| alert_json(a, lang)).collect();
    json!({"cradles": cradles, "unresolved_alerts": alerts})
}

async fn run(state: AppState, user_id: i64, lang: Lang, tx: mpsc::Sender<Event>) {
    let _listening = state.alerts.listen(user_id);
    let mut hub_events = state.alerts.events.subscribe();
    let mut id: u64 = 0;
    let mut event = |name: &str, data: &Value| {
        id += 1;
        Event::default()
            .event(name)
            .id(id.to_string())
            .data(data.to_string())
    };
    'snapshot: loop {
        let snap = snapshot(&state, user_id, lang).await;
        if tx.send(event("snapshot", &snap)).await.is_err() {
            return;
        }
        let mut statuses = tokio_stream::StreamMap::new();
        for c in state.live.owned_by(user_id) {
            statuses.insert(
                c.uuid.to_string(),
                WatchStream::from_changes(c.subscribe_status()),
            );
        }
        loop {
            let out = tokio::select! {
                Some((uuid, status)) = statuses.next() => {
                    event("status", &json!({"uuid": uuid, "status": status_json(&uuid, &status)}))
                }
                received = hub_events.recv() => match received {
                    Ok(HubEvent::AlertRaised { owner, alert }) if owner == user_id => event("alert", &alert_json(&alert, lang)),
                    Ok(HubEvent::AlertResolved { owner, alert }) if owner == user_id => {
                        event("alert_resolved", &alert_json(&alert, lang))
                    }
                    Ok(HubEvent::AlertReminder { owner, alert }) if owner == user_id => {
                        event("alert_reminder", &alert_json(&alert, lang))
                    }
                    Ok(HubEvent::CradlesChanged { owner }) if owner == user_id => continue 'snapshot,
                    Ok(_) => continue,
                    // Missed events: start over from a fresh snapshot.
                    Err(broadcast::error::RecvError::Lagged(_)) => continue 'snapshot,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = tx.closed() => return,
            };
            if tx.send(out).await.is_err() {
                return;
            }
        }
    }
}
