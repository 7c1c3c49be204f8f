//! Native notifications for alerts (`notify-rust`: the desktop's
//! notification service over D-Bus on Linux). Without a session bus or a
//! notification daemon a notification is a logged warning, never a crash.

use cradle_hub::alerts::engine::AlertType;
use cradle_hub::alerts::messages;
use cradle_hub::i18n::Lang;
use cradle_hub::store::alerts::AlertRow;
use cradle_hub::timefmt::{Millis, parse_time};
use serde_json::Value;
use tauri::AppHandle;

/// One alert as the notification shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertNote {
    pub id: i64,
    /// `created_at` as the hub sent it: with the id, what identifies an
    /// alert for good (ids of older hubs could come back).
    pub created_at: String,
    pub cradle: String,
    /// Shown with the highest urgency (offline, camera silent, fever,
    /// soothing failed).
    pub critical: bool,
    /// "High temperature — nursery-cradle"
    pub summary: String,
    /// "High temperature: 36.8 °C (limit 30.0 °C).\nat 21:04:05"
    pub body: String,
}

/// From the hub's own row (home mode): the message is rendered here, in `lang`.
pub fn from_row(row: &AlertRow, lang: Lang) -> AlertNote {
    let kind = AlertType::parse(&row.alert_type);
    let message = cradle_hub::alerts::message(row, lang);
    let mut n = note(
        row.id,
        &row.agent_uuid,
        kind,
        &row.alert_type,
        &message,
        Some(row.created_at),
        lang,
    );
    n.created_at = cradle_hub::timefmt::format_millis(row.created_at);
    n.critical = cradle_hub::alerts::is_critical(row);
    n
}

/// From an `alert` event of `/api/events` (remote mode): the hub already
/// rendered `message` in the language the stream was opened with.
pub fn from_json(v: &Value, lang: Lang) -> Option<AlertNote> {
    let id = v.get("id")?.as_i64()?;
    let cradle = v.get("agent_uuid")?.as_str()?;
    let alert_type = v.get("alert_type").and_then(Value::as_str).unwrap_or("");
    let message = v
        .get("message")
        .or_else(|| v.get("alert_message"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let created_at = v.get("created_at").and_then(Value::as_str).unwrap_or("");
    let mut n = note(
        id,
        cradle,
        AlertType::parse(alert_type),
        alert_type,
        message,
        parse_time(created_at),
        lang,
    );
    n.created_at = created_at.to_owned();
    n.critical = v.get("critical").and_then(Value::as_bool).unwrap_or(false);
    Some(n)
}

fn note(
    id: i64,
    cradle: &str,
    kind: Option<AlertType>,
    raw_type: &str,
    message: &str,
    at: Option<Millis>,
    lang: Lang,
) -> AlertNote {
    let title = match (kind, lang) {
        (Some(t), _) => messages::title(t, lang).to_owned(),
        (None, Lang::En) if raw_type.is_empty() => "Alert".to_owned(),
        (None, Lang::Ko) if raw_type.is_empty() => "경보".to_owned(),
        (None, _) => raw_type.replace('_', " "),
    };
    let mut body = message.trim().to_owned();
    if let Some(at) = at.and_then(local_time) {
        if !body.is_empty() {
            body.push('\n');
        }
        body.push_str(&match lang {
            Lang::En => format!("at {at}"),
            Lang::Ko => format!("{at} 발생"),
        });
    }
    AlertNote {
        id,
        created_at: String::new(),
        cradle: cradle.to_owned(),
        critical: false,
        summary: format!("{title} — {cradle}"),
        body,
    }
}

/// `21:04:05` today, `2026-11-22 21:04` on another day, in the computer's time zone.
fn local_time(ms: Millis) -> Option<String> {
    use chrono::{Local, TimeZone};
    let t = Local.timestamp_millis_opt(ms).single()?;
    let today = Local::now().date_naive();
    Some(if t.date_naive() == today {
        t.format("%H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M").to_string()
    })
}

/// The same alert, announced again because it is still unresolved.
pub fn reminder(mut note: AlertNote, lang: Lang) -> AlertNote {
    note.summary = match lang {
        Lang::En => format!("Still unresolved: {}", note.summary),
        Lang::Ko => format!("아직 해결되지 않음: {}", note.summary),
    };
    note
}

fn open_label(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "Open",
        Lang::Ko => "열기",
    }
}

/// At most this many notifications wait for a click at once. Each one
/// waiting holds a thread and a D-Bus connection until the parent clicks or
/// dismisses it, which may be hours away: past the cap the oldest is closed
/// (the window's alert list still has it) so a night of alerts cannot pile
/// up threads.
pub const MAX_WAITING: usize = 8;

/// The notifications waiting for a click, oldest first, each with what
/// stops its wait.
pub struct Waiting<T> {
    cap: usize,
    next_key: u64,
    entries: std::collections::VecDeque<(u64, T)>,
}

impl<T> Waiting<T> {
    pub const fn new(cap: usize) -> Waiting<T> {
        Waiting {
            cap,
            next_key: 0,
            entries: std::collections::VecDeque::new(),
        }
    }

    /// Registers one more waiter; returns its key, and the oldest waiters
    /// it pushed over the cap (to be stopped by the caller).
    pub fn admit(&mut self, stop: T) -> (u64, Vec<T>) {
        let key = self.next_key;
        self.next_key += 1;
        self.entries.push_back((key, stop));
        let over = self.entries.len().saturating_sub(self.cap.max(1));
        let evicted = self.entries.drain(..over).map(|(_, stop)| stop).collect();
        (key, evicted)
    }

    /// The waiter ended by itself (clicked, dismissed, or stopped).
    pub fn finished(&mut self, key: u64) {
        self.entries.retain(|(k, _)| *k != key);
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(all(unix, not(target_os = "macos")))]
static WAITING: parking_lot::Mutex<Waiting<tokio::sync::oneshot::Sender<()>>> =
    parking_lot::Mutex::new(Waiting::new(MAX_WAITING));

/// Shows the notification on a thread of its own (the D-Bus calls block, and
/// on Linux the thread then waits for a click, see [`MAX_WAITING`]).
/// `hub_base` is the URL the window opens the alert under
/// (`<hub_base>/#/alerts/<id>`).
pub fn show(app: &AppHandle, note: AlertNote, lang: Lang, hub_base: String) {
    let app = app.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("notify-{}", note.id))
        .spawn(move || show_blocking(&app, &note, lang, &hub_base));
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "notification: cannot start a thread");
    }
}

#[cfg(all(unix, not(target_os = "macos")))]
fn show_blocking(app: &AppHandle, note: &AlertNote, lang: Lang, hub_base: &str) {
    use notify_rust::{Notification, Timeout, Urgency};
    let shown = Notification::new()
        .appname("Cradle Hub")
        .summary(&note.summary)
        .body(&note.body)
        .icon("cradle-app")
        // A baby's alert stays until the parent dismisses it; the critical
        // ones also break through "do not disturb".
        .urgency(if note.critical {
            Urgency::Critical
        } else {
            Urgency::Normal
        })
        .timeout(Timeout::Never)
        .action("default", open_label(lang))
        .show();
    let handle = match shown {
        Ok(handle) => handle,
        Err(e) => {
            tracing::warn!(alert = note.id, error = %e, "notification: not shown (no notification service?)");
            return;
        }
    };
    tracing::info!(alert = note.id, summary = %note.summary, "notification shown");
    let id = note.id;
    wait_for_click(handle, id, || crate::window::open_alert(app, hub_base, id));
}

/// Waits until the notification is clicked (then `on_click`) or dismissed,
/// or until [`MAX_WAITING`] newer ones push it out (then it is closed).
#[cfg(all(unix, not(target_os = "macos")))]
fn wait_for_click(handle: notify_rust::NotificationHandle, alert: i64, on_click: impl FnOnce()) {
    use futures_util::future::{Either, select};
    use notify_rust::NotificationResponse;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (key, evicted) = WAITING.lock().admit(stop_tx);
    for stop in evicted {
        // Its thread may be ending by itself just now: nothing to stop then.
        let _ = stop.send(());
    }
    let stopped = tauri::async_runtime::block_on(async {
        let clicked = handle.wait_for_action_async(|response| {
            if matches!(response, NotificationResponse::Default) {
                on_click();
            }
        });
        matches!(
            select(std::pin::pin!(clicked), stop_rx).await,
            Either::Right((Ok(()), _))
        )
    });
    WAITING.lock().finished(key);
    if stopped {
        tracing::info!(
            alert,
            "notification closed: {MAX_WAITING} newer ones are waiting"
        );
        handle.close();
    }
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
fn show_blocking(_app: &AppHandle, note: &AlertNote, _lang: Lang, _hub_base: &str) {
    // Clicks are not reported back here on macOS and Windows: the
    // notification only tells. The tray's "Open" brings the window.
    let shown = notify_rust::Notification::new()
        .appname("Cradle Hub")
        .summary(&note.summary)
        .body(&note.body)
        .show();
    match shown {
        Ok(_) => tracing::info!(alert = note.id, summary = %note.summary, "notification shown"),
        Err(e) => tracing::warn!(alert = note.id, error = %e, "notification: not shown"),
    }
}

/// A notice about the hub itself (unreachable, unhealthy, back), shown on
/// a thread of its own like alerts.
pub fn show_notice(summary: String, body: String, critical: bool) {
    let spawned = std::thread::Builder::new()
        .name("notify-hub".into())
        .spawn(move || {
            let mut n = notify_rust::Notification::new();
            n.appname("Cradle Hub").summary(&summary).body(&body);
            #[cfg(all(unix, not(target_os = "macos")))]
            n.icon("cradle-app").urgency(if critical {
                notify_rust::Urgency::Critical
            } else {
                notify_rust::Urgency::Normal
            });
            #[cfg(not(all(unix, not(target_os = "macos"))))]
            let _ = critical;
            match n.show() {
                Ok(_) => tracing::info!(summary, "notification shown"),
                Err(e) => tracing::warn!(summary, error = %e, "notification: not shown"),
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "notification: cannot start a thread");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn waiting_notifications_are_bounded_oldest_out() {
        let mut waiting = Waiting::new(3);
        let keys: Vec<u64> = (0..3)
            .map(|n| {
                let (key, evicted) = waiting.admit(n);
                assert!(evicted.is_empty());
                key
            })
            .collect();
        assert_eq!(waiting.len(), 3);
        // Over the cap: the oldest is handed back to be stopped.
        let (_, evicted) = waiting.admit(3);
        assert_eq!(evicted, vec![0]);
        assert_eq!(waiting.len(), 3);
        for n in 4..100 {
            let (_, evicted) = waiting.admit(n);
            assert_eq!(evicted, vec![n - 3]);
            assert!(waiting.len() <= 3);
        }
        // A waiter that ends by itself frees its place; ending twice, or
        // after being pushed out, changes nothing.
        waiting.finished(keys[0]);
        assert_eq!(waiting.len(), 3);
        let (last, _) = waiting.admit(100);
        waiting.finished(last);
        waiting.finished(last);
        assert_eq!(waiting.len(), 2);
        assert!(waiting.admit(101).1.is_empty());
    }

    /// Run with a notification service:
    /// `dbus-run-session -- sh -c 'dunst & cargo test -p cradle-app -- --ignored'`.
    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    #[ignore = "needs a notification service on the session bus (dunst under dbus-run-session)"]
    fn past_the_cap_the_oldest_notifications_are_closed() {
        use std::time::{Duration, Instant};
        let extra = 2;
        let waiters: Vec<_> = (0..MAX_WAITING + extra)
            .map(|n| {
                let handle = notify_rust::Notification::new()
                    .summary(&format!("cradle-app bound test {n}"))
                    .timeout(notify_rust::Timeout::Never)
                    .action("default", "Open")
                    .show()
                    .expect("a notification service on the session bus");
                let waiter = std::thread::spawn(move || wait_for_click(handle, n as i64, || {}));
                // In order: the oldest is the first one admitted.
                std::thread::sleep(Duration::from_millis(150));
                waiter
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !waiters[..extra].iter().all(|w| w.is_finished()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(
            waiters[..extra].iter().all(|w| w.is_finished()),
            "the oldest waits were not stopped"
        );
        assert!(waiters[extra..].iter().all(|w| !w.is_finished()));
        assert_eq!(WAITING.lock().len(), MAX_WAITING);
    }

    #[test]
    fn a_zero_cap_still_keeps_the_newest() {
        let mut waiting = Waiting::new(0);
        assert!(waiting.admit('a').1.is_empty());
        assert_eq!(waiting.admit('b').1, vec!['a']);
        assert_eq!(waiting.len(), 1);
    }

    fn row() -> AlertRow {
        AlertRow {
            id: 7,
            agent_uuid: "nursery".into(),
            alert_type: "high_temperature".into(),
            temperature: Some(36.8),
            face_detected: None,
            notification_sent: false,
            resolved: false,
            created_at: cradle_hub::timefmt::now_millis(),
            resolved_at: None,
            detail: r#"{"temperature":36.8,"max_temperature":30.0}"#.into(),
        }
    }

    #[test]
    fn home_alert_in_both_languages() {
        let en = from_row(&row(), Lang::En);
        assert_eq!(en.id, 7);
        assert_eq!(en.summary, "High temperature — nursery");
        assert!(
            en.body
                .starts_with("High temperature: 36.8 °C (limit 30.0 °C).\nat "),
            "{}",
            en.body
        );
        let ko = from_row(&row(), Lang::Ko);
        assert_eq!(ko.summary, "고온 — nursery");
        assert!(ko.body.starts_with("고온 경보: 36.8 °C"), "{}", ko.body);
        assert!(ko.body.ends_with(" 발생"), "{}", ko.body);
    }

    #[test]
    fn remote_alert_from_event_json() {
        let v = json!({
            "id": 12, "agent_uuid": "pi-cradle", "alert_type": "crying",
            "message": "The baby has been crying for 31 s.",
            "created_at": "2020-01-02T03:04:05.000Z"
        });
        let n = from_json(&v, Lang::En).expect("note");
        assert_eq!(n.id, 12);
        assert_eq!(n.cradle, "pi-cradle");
        assert_eq!(n.summary, "Crying — pi-cradle");
        // Another day: the date is shown too.
        assert!(
            n.body
                .starts_with("The baby has been crying for 31 s.\nat 2020-01-0"),
            "{}",
            n.body
        );
        let odd = json!({"id": 1, "agent_uuid": "x", "alert_type": "new_kind"});
        assert_eq!(
            from_json(&odd, Lang::En).expect("note").summary,
            "new kind — x"
        );
        assert!(from_json(&json!({"agent_uuid": "x"}), Lang::En).is_none());
    }
}
