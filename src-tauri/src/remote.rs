//! Remote-hub mode: the window shows a hub elsewhere on the LAN and the app
//! follows that hub's `/api/events` stream to raise notifications. The
//! stream needs a session: the one the parent opened by signing in in the
//! window (read from the window's cookies), or one the app opens itself with
//! `CRADLE_APP_USER` / `CRADLE_APP_PASSWORD`.

use std::sync::Arc;
use std::time::Duration;

use cradle_hub::auth::SESSION_COOKIE;
use cradle_hub::i18n::Lang;
use futures_util::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, ACCEPT_LANGUAGE, COOKIE, SET_COOKIE};
use serde_json::{Value, json};
use tauri::{AppHandle, Manager, Url};
use tokio::sync::watch;

use crate::mode::parse_lang;
use crate::sse::SseParser;
use crate::state::{Shared, Status};
use crate::{notify, window};

pub const USER_ENV: &str = "CRADLE_APP_USER";
pub const PASSWORD_ENV: &str = "CRADLE_APP_PASSWORD";

/// The hub sends a keep-alive every 15 s: silence this long means a dead link.
const IDLE_LIMIT: Duration = Duration::from_secs(45);

pub fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| e.to_string())
}

/// Is there a hub at `base`? Returns its default language when it says.
pub async fn probe(client: &reqwest::Client, base: &str) -> Result<Option<Lang>, String> {
    let resp = client
        .get(format!("{base}/api/hub_info"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .map_err(|e| error_chain(&e))?;
    if resp.status() == StatusCode::NOT_FOUND {
        // An older hub without hub_info: is it a hub at all?
        let health = client
            .get(format!("{base}/health"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .map_err(|e| error_chain(&e))?;
        return if health.status().is_success() {
            Ok(None)
        } else {
            Err(format!("no Cradle Hub there (HTTP {})", health.status()))
        };
    }
    if !resp.status().is_success() {
        return Err(format!("no Cradle Hub there (HTTP {})", resp.status()));
    }
    let info: Value = resp
        .json()
        .await
        .map_err(|e| format!("no Cradle Hub there ({e})"))?;
    Ok(info
        .get("default_language")
        .and_then(Value::as_str)
        .and_then(parse_lang))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

pub async fn run(app: AppHandle, base: String) {
    let shared = app.state::<Arc<Shared>>().inner().clone();
    let client = match client() {
        Ok(c) => c,
        Err(error) => {
            shared.set_status(Status::Failed { error });
            return;
        }
    };
    let mut delay = Duration::from_secs(1);
    loop {
        match probe(&client, &base).await {
            Ok(lang) => {
                if let Some(lang) = lang {
                    shared.hub_default_language(lang);
                }
                break;
            }
            Err(e) => {
                shared.set_status(Status::Failed {
                    error: format!("cannot reach the hub at {base}: {e}. Retrying…"),
                });
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(15));
            }
        }
    }
    window::hub_ready(&app, &shared, &base);
    follow(&app, &shared, &client, &base).await;
}

enum Ended {
    LangChanged,
    Closed,
    Unauthorized,
}

async fn follow(app: &AppHandle, shared: &Shared, client: &reqwest::Client, base: &str) {
    let credentials = match (std::env::var(USER_ENV), std::env::var(PASSWORD_ENV)) {
        (Ok(u), Ok(p)) if !u.is_empty() => Some((u, p)),
        _ => None,
    };
    let mut cookie: Option<String> = None;
    let mut seen = Seen::default();
    let mut waiting_logged = false;
    let mut delay = Duration::from_secs(1);
    loop {
        if cookie.is_none() {
            cookie = match &credentials {
                Some((user, password)) => match login(client, base, user, password).await {
                    Ok(c) => Some(c),
                    Err(e) => {
                        tracing::warn!(error = %e, "remote: cannot sign in with {USER_ENV}");
                        None
                    }
                },
                None => window_session(app, base).await,
            };
        }
        let Some(session) = cookie.clone() else {
            if !waiting_logged {
                tracing::info!("remote: notifications start once you sign in in the window");
                waiting_logged = true;
            }
            tokio::time::sleep(Duration::from_secs(3)).await;
            continue;
        };
        let lang_rx = shared.lang.subscribe();
        match stream(app, client, base, &session, lang_rx, &mut seen).await {
            Ok(Ended::LangChanged) => continue,
            Ok(Ended::Unauthorized) => {
                tracing::info!("remote: session not accepted; signing in again");
                cookie = None;
                waiting_logged = false;
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
            Ok(Ended::Closed) => {
                tracing::info!("remote: event stream ended; reconnecting");
                delay = Duration::from_secs(1);
            }
            Err(e) => {
                tracing::warn!(error = %e, "remote: event stream failed; reconnecting");
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}

/// Signs in and returns the `Cookie` header value for the session.
async fn login(
    client: &reqwest::Client,
    base: &str,
    user: &str,
    password: &str,
) -> Result<String, String> {
    let resp = client
        .post(format!("{base}/login"))
        .json(&json!({"username": user, "password": password}))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| error_chain(&e))?;
    if !resp.status().is_success() {
        return Err(format!("login refused (HTTP {})", resp.status()));
    }
    session_cookie(
        resp.headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok()),
    )
    .ok_or_else(|| "no session cookie in the login answer".to_owned())
}

/// `cradle_session=<token>` out of `Set-Cookie` headers.
fn session_cookie<'a>(set_cookies: impl Iterator<Item = &'a str>) -> Option<String> {
    set_cookies
        .filter_map(|c| c.split(';').next())
        .map(str::trim)
        .find(|c| {
            c.split_once('=')
                .is_some_and(|(name, value)| name == SESSION_COOKIE && !value.is_empty())
        })
        .map(str::to_owned)
}

/// The session the parent opened by signing in in the window.
async fn window_session(app: &AppHandle, base: &str) -> Option<String> {
    let url = Url::parse(base).ok()?;
    let app = app.clone();
    // Answered by the UI thread: do not hold a runtime worker meanwhile.
    tauri::async_runtime::spawn_blocking(move || {
        let window = app.get_webview_window(window::MAIN)?;
        let cookies = window.cookies_for_url(url).ok()?;
        cookies
            .iter()
            .find(|c| c.name() == SESSION_COOKIE && !c.value().is_empty())
            .map(|c| format!("{SESSION_COOKIE}={}", c.value()))
    })
    .await
    .ok()
    .flatten()
}

async fn stream(
    app: &AppHandle,
    client: &reqwest::Client,
    base: &str,
    session: &str,
    mut lang_rx: watch::Receiver<Lang>,
    seen: &mut Seen,
) -> Result<Ended, String> {
    let lang = *lang_rx.borrow_and_update();
    let resp = client
        .get(format!("{base}/api/events"))
        .header(COOKIE, session)
        .header(ACCEPT, "text/event-stream")
        .header(ACCEPT_LANGUAGE, lang.code())
        .send()
        .await
        .map_err(|e| error_chain(&e))?;
    if resp.status() == StatusCode::UNAUTHORIZED {
        return Ok(Ended::Unauthorized);
    }
    if !resp.status().is_success() {
        return Err(format!("HTTP {}", resp.status()));
    }
    tracing::info!(hub = base, "remote: following the hub's alerts");
    let mut body = resp.bytes_stream();
    let mut parser = SseParser::default();
    loop {
        tokio::select! {
            chunk = tokio::time::timeout(IDLE_LIMIT, body.next()) => {
                let bytes = match chunk {
                    Err(_) => return Err("no keep-alive from the hub".to_owned()),
                    Ok(None) => return Ok(Ended::Closed),
                    Ok(Some(Err(e))) => return Err(error_chain(&e)),
                    Ok(Some(Ok(bytes))) => bytes,
                };
                for event in parser.feed(&bytes).map_err(|e| e.to_string())? {
                    let Ok(data) = serde_json::from_str::<Value>(&event.data) else {
                        continue;
                    };
                    for note in on_event(&event.name, &data, lang, seen) {
                        notify::show(app, note, lang, base.to_owned());
                    }
                }
            }
            changed = lang_rx.changed() => {
                if changed.is_err() {
                    return Ok(Ended::Closed);
                }
                if *lang_rx.borrow() != lang {
                    // Messages come rendered in the stream's language: reopen it.
                    return Ok(Ended::LangChanged);
                }
            }
        }
    }
}

/// The alerts already notified, by id and creation time together (an id
/// alone could come back from a hub whose ids restarted), oldest first;
/// `None` until the first snapshot.
#[derive(Default)]
struct Seen {
    keys: Option<std::collections::VecDeque<(i64, String)>>,
    reminded: std::collections::VecDeque<(i64, String)>,
}

/// More than a day of alerts of a busy household.
const SEEN_KEPT: usize = 1024;

impl Seen {
    fn is_new(&self, note: &notify::AlertNote) -> bool {
        self.keys.as_ref().is_none_or(|k| {
            !k.iter()
                .any(|(id, at)| *id == note.id && *at == note.created_at)
        })
    }
    fn mark(&mut self, note: &notify::AlertNote) {
        let keys = self.keys.get_or_insert_with(Default::default);
        keys.push_back((note.id, note.created_at.clone()));
        if keys.len() > SEEN_KEPT {
            keys.pop_front();
        }
    }
    /// A reminder is shown once per alert.
    fn first_reminder(&mut self, note: &notify::AlertNote) -> bool {
        let key = (note.id, note.created_at.clone());
        if self.reminded.contains(&key) {
            return false;
        }
        self.reminded.push_back(key);
        if self.reminded.len() > SEEN_KEPT {
            self.reminded.pop_front();
        }
        true
    }
}

/// What to notify for one event. The first snapshot only marks where the
/// app starts (old alerts are not news); a later snapshot (after a
/// reconnect) brings the alerts raised while the link was down.
fn on_event(name: &str, data: &Value, lang: Lang, seen: &mut Seen) -> Vec<notify::AlertNote> {
    let mut notes = Vec::new();
    match name {
        "alert" => {
            if let Some(note) = notify::from_json(data, lang)
                && seen.is_new(&note)
            {
                seen.mark(&note);
                notes.push(note);
            }
        }
        "alert_reminder" => {
            if let Some(note) = notify::from_json(data, lang)
                && seen.first_reminder(&note)
            {
                notes.push(notify::reminder(note, lang));
            }
        }
        "snapshot" => {
            let mut unresolved: Vec<notify::AlertNote> = data
                .get("unresolved_alerts")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| notify::from_json(v, lang))
                        .collect()
                })
                .unwrap_or_default();
            unresolved.sort_by(|a, b| (&a.created_at, a.id).cmp(&(&b.created_at, b.id)));
            let first = seen.keys.is_none();
            seen.keys.get_or_insert_with(Default::default);
            for note in unresolved {
                if seen.is_new(&note) {
                    seen.mark(&note);
                    if !first {
                        notes.push(note);
                    }
                }
            }
        }
        _ => {}
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(id: i64) -> Value {
        alert_at(id, "2026-11-22T20:56:17.123Z")
    }
    fn alert_at(id: i64, at: &str) -> Value {
        json!({"id": id, "agent_uuid": "c", "alert_type": "crying", "message": "m",
               "created_at": at})
    }
    fn ids(notes: &[notify::AlertNote]) -> Vec<i64> {
        notes.iter().map(|n| n.id).collect()
    }

    #[test]
    fn first_snapshot_is_not_news_later_ones_catch_up() {
        let mut seen = Seen::default();
        let snap = json!({"cradles": [], "unresolved_alerts": [alert(4), alert(3)]});
        assert!(on_event("snapshot", &snap, Lang::En, &mut seen).is_empty());
        assert_eq!(on_event("alert", &alert(5), Lang::En, &mut seen).len(), 1);
        assert!(on_event("alert", &alert(5), Lang::En, &mut seen).is_empty());
        assert!(on_event("status", &json!({}), Lang::En, &mut seen).is_empty());
        // Reconnected: 6 and 7 came while the link was down.
        let snap = json!({"unresolved_alerts": [alert(7), alert(4), alert(6)]});
        assert_eq!(
            ids(&on_event("snapshot", &snap, Lang::En, &mut seen)),
            [6, 7]
        );
    }

    #[test]
    fn empty_first_snapshot_then_alerts() {
        let mut seen = Seen::default();
        on_event(
            "snapshot",
            &json!({"unresolved_alerts": []}),
            Lang::En,
            &mut seen,
        );
        assert_eq!(on_event("alert", &alert(1), Lang::En, &mut seen).len(), 1);
    }

    /// Defect: alerts were deduplicated on "id above the last seen", so a
    /// hub whose ids started lower again (older hubs reused ids after a
    /// restart) had its new alerts silently dropped.
    #[test]
    fn an_alert_with_a_lower_or_reused_id_is_still_news() {
        let mut seen = Seen::default();
        on_event(
            "snapshot",
            &json!({"unresolved_alerts": []}),
            Lang::En,
            &mut seen,
        );
        assert_eq!(on_event("alert", &alert(40), Lang::En, &mut seen).len(), 1);
        let reused = alert_at(40, "2026-11-23T03:10:00.000Z");
        assert_eq!(on_event("alert", &reused, Lang::En, &mut seen).len(), 1);
        assert_eq!(on_event("alert", &alert(12), Lang::En, &mut seen).len(), 1);
    }

    #[test]
    fn a_reminder_is_shown_once_and_says_so() {
        let mut seen = Seen::default();
        on_event(
            "snapshot",
            &json!({"unresolved_alerts": []}),
            Lang::En,
            &mut seen,
        );
        on_event("alert", &alert(3), Lang::En, &mut seen);
        let again = on_event("alert_reminder", &alert(3), Lang::En, &mut seen);
        assert_eq!(ids(&again), [3]);
        assert!(
            again[0].summary.starts_with("Still unresolved"),
            "{}",
            again[0].summary
        );
        assert!(on_event("alert_reminder", &alert(3), Lang::En, &mut seen).is_empty());
    }

    #[test]
    fn critical_comes_from_the_event() {
        let mut seen = Seen::default();
        on_event(
            "snapshot",
            &json!({"unresolved_alerts": []}),
            Lang::En,
            &mut seen,
        );
        let mut offline = alert(8);
        offline["alert_type"] = json!("cradle_offline");
        offline["critical"] = json!(true);
        let notes = on_event("alert", &offline, Lang::En, &mut seen);
        assert!(notes[0].critical);
        assert!(!on_event("alert", &alert(9), Lang::En, &mut seen)[0].critical);
    }

    #[test]
    fn session_cookie_from_headers() {
        let headers = [
            "other=1; Path=/",
            "cradle_session=abc123; Path=/; HttpOnly; SameSite=Lax; Max-Age=2592000",
        ];
        assert_eq!(
            session_cookie(headers.into_iter()).as_deref(),
            Some("cradle_session=abc123")
        );
        assert_eq!(
            session_cookie(["cradle_session=; Max-Age=0"].into_iter()),
            None
        );
    }
}
