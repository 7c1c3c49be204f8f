//! `/api/events`: one Server-Sent-Events stream per logged-in user. It sends
//! a `snapshot` (every cradle's status and the unresolved alerts of the last
//! 24 h) first, then `status`, `alert` and `alert_resolved` events as they
//! happen, and `alert_reminder` when an alert is still unresolved after 5
//! minutes, and `unread_count` whenever the user's count of unread
//! notifications changes. A reconnect (with or without `Last-Event-ID`)
//! gets a fresh snapshot, so a client never needs to replay anything.

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
use crate::store::alerts::AlertRow;
use crate::store::notifications;
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
        .visible_to(user_id)
        .iter()
        .map(|(c, role)| {
            json!({"uuid": &*c.uuid, "role": role.as_str(), "status": status_json(&c.uuid, &c.status())})
        })
        .collect();
    let since = now_millis() - 86_400_000;
    // Complete (screens replace their unresolved set with it): the stored
    // ones and those still waiting to be stored (disk full).
    let mut unresolved = state
        .store
        .read(move |c| alert_rows::unresolved_for_user(c, user_id, since, SNAPSHOT_ALERTS))
        .await
        .unwrap_or_default();
    let visible = |uuid: &str| state.live.access(uuid, user_id).is_some();
    let waiting = state.alerts.unsaved_for(visible, since);
    unresolved.retain(|a| !waiting.iter().any(|w| w.id == a.id));
    unresolved.extend(waiting.into_iter().filter(|a| !a.resolved));
    unresolved.sort_by_key(|a| std::cmp::Reverse((a.created_at, a.id)));
    unresolved.truncate(SNAPSHOT_ALERTS);
    let alerts: Vec<Value> = unresolved.iter().map(|a| alert_json(a, lang)).collect();
    // `null` if it cannot be read now; the next change sends it.
    let unread = unread_count(state, user_id).await;
    json!({"cradles": cradles, "unresolved_alerts": alerts, "unread_count": unread})
}

async fn unread_count(state: &AppState, user_id: i64) -> Option<i64> {
    state
        .store
        .read(move |c| notifications::unread_count(c, user_id))
        .await
        .ok()
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
    let sees = |alert: &AlertRow| state.live.access(&alert.agent_uuid, user_id).is_some();
    'snapshot: loop {
        let snap = snapshot(&state, user_id, lang).await;
        let mut unread = snap["unread_count"].as_i64();
        if tx.send(event("snapshot", &snap)).await.is_err() {
            return;
        }
        let mut statuses = tokio_stream::StreamMap::new();
        for (c, _) in state.live.visible_to(user_id) {
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
                    Ok(HubEvent::AlertRaised { alert, .. }) if sees(&alert) => event("alert", &alert_json(&alert, lang)),
                    Ok(HubEvent::AlertResolved { alert, .. }) if sees(&alert) => {
                        event("alert_resolved", &alert_json(&alert, lang))
                    }
                    Ok(HubEvent::AlertReminder { alert, .. }) if sees(&alert) => {
                        event("alert_reminder", &alert_json(&alert, lang))
                    }
                    Ok(HubEvent::CradlesChanged { user }) if user == user_id => continue 'snapshot,
                    Ok(HubEvent::InboxChanged { user }) if user == user_id => {
                        let n = unread_count(&state, user_id).await;
                        if n.is_none() || n == unread {
                            continue;
                        }
                        unread = n;
                        event("unread_count", &json!({"unread_count": n}))
                    }
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
