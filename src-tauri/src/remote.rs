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

/// An HTTP client; with `ca_pem`, one that trusts that CA (a pinned TLS
/// hub's) and nothing else for HTTPS.
pub fn client(ca_pem: Option<&str>) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder().connect_timeout(Duration::from_secs(5));
    if let Some(pem) = ca_pem {
        let ca = reqwest::Certificate::from_pem(pem.as_bytes()).map_err(|e| error_chain(&e))?;
        builder = builder.add_root_certificate(ca).tls_info(true);
    }
    builder.build().map_err(|e| error_chain(&e))
}

/// A hub found at an address, ready to show and follow.
#[derive(Debug, Clone)]
pub struct Hub {
    /// `https://host:port` for a TLS hub, else the address as given.
    pub base: String,
    /// The pinned CA (PEM) and its fingerprint, for a TLS hub.
    pub ca_pem: Option<String>,
    pub ca_sha256: Option<String>,
    pub lang: Option<Lang>,
}

#[derive(Debug, Clone)]
pub enum Found {
    Ready(Hub),
    /// A TLS hub whose CA nobody vouched for yet: show the fingerprint,
    /// and trust it once the user confirms.
    Confirm {
        base: String,
        ca_sha256: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindError {
    /// No answer (yet): worth retrying.
    Unreachable(String),
    /// An answer that must not be trusted (another CA than the pinned one).
    Refused(String),
}

impl std::fmt::Display for FindError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FindError::Unreachable(e) | FindError::Refused(e) => f.write_str(e),
        }
    }
}

/// Where the hub at plain-HTTP `base` sends its answers: a TLS hub answers
/// LAN clients with a 308 to its https address.
async fn https_redirect(base: &str) -> Result<Option<String>, String> {
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| error_chain(&e))?;
    let resp = client
        .get(format!("{base}/api/hub_info"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .map_err(|e| error_chain(&e))?;
    if !resp.status().is_redirection() {
        return Ok(None);
    }
    let location = resp
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .and_then(|l| Url::parse(l).ok());
    match location {
        Some(to) if to.scheme() == "https" => {
            let https = crate::mode::normalize_hub_url(to.as_str())?;
            if crate::mode::authority(&https).map(|a| host_of(&a))
                != crate::mode::authority(base).map(|a| host_of(&a))
            {
                return Err(format!("the hub sends its visitors elsewhere ({https})"));
            }
            Ok(Some(https))
        }
        _ => Ok(None),
    }
}

fn host_of(authority: &str) -> String {
    authority
        .rsplit_once(':')
        .map_or(authority, |(h, _)| h)
        .to_owned()
}

/// Finds the hub at `base` (normalised). A TLS hub (an https address, or
/// a plain one answered with a redirect to https) is trusted through its
/// CA, fetched from `/ca.crt` and checked against `expected`.
pub async fn discover(base: &str, expected: Option<&str>) -> Result<Found, FindError> {
    let unreachable = FindError::Unreachable;
    let https = if base.starts_with("https://") {
        base.to_owned()
    } else {
        match https_redirect(base).await.map_err(unreachable)? {
            Some(https) => https,
            None => {
                let lang = probe(&client(None).map_err(unreachable)?, base)
                    .await
                    .map_err(unreachable)?;
                return Ok(Found::Ready(Hub {
                    base: base.to_owned(),
                    ca_pem: None,
                    ca_sha256: None,
                    lang,
                }));
            }
        }
    };
    // The CA: over plain HTTP on the same port (the hub serves it so to
    // anyone, it is what gets checked), before anything is trusted.
    let authority = crate::mode::authority(&https)
        .ok_or_else(|| unreachable(format!("{https} has no host")))?;
    let resp = client(None)
        .map_err(unreachable)?
        .get(format!("http://{authority}/ca.crt"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .map_err(|e| unreachable(error_chain(&e)))?;
    if !resp.status().is_success() {
        return Err(unreachable(format!(
            "the hub uses HTTPS but offers no certificate authority of its own at /ca.crt              (HTTP {}); only hubs started with --tls self-signed can be followed over HTTPS",
            resp.status()
        )));
    }
    let pem = resp
        .text()
        .await
        .map_err(|e| unreachable(error_chain(&e)))?;
    let der =
        crate::pin::pem_to_der(&pem).map_err(|e| unreachable(format!("the hub's /ca.crt: {e}")))?;
    let got = crate::pin::sha256_hex(&der);
    match crate::pin::check(expected, &got) {
        crate::pin::Pin::FirstUse => {
            return Ok(Found::Confirm {
                base: https,
                ca_sha256: got,
            });
        }
        crate::pin::Pin::Mismatch { expected } => {
            return Err(FindError::Refused(crate::pin::mismatch_message(
                &https, &expected, &got,
            )));
        }
        crate::pin::Pin::Matches => {}
    }
    let pem = crate::pin::der_to_pem(&der);
    let pinned = client(Some(&pem)).map_err(unreachable)?;
    let lang = probe(&pinned, &https).await.map_err(unreachable)?;
    Ok(Found::Ready(Hub {
        base: https,
        ca_pem: Some(pem),
        ca_sha256: Some(got),
        lang,
    }))
}

/// The TLS hub's own (leaf) certificate as PEM, from a handshake that
/// `client` verified against the pinned CA: what WebKitGTK is told to accept.
pub async fn server_certificate(client: &reqwest::Client, base: &str) -> Result<String, String> {
    let resp = client
        .get(format!("{base}/health"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .map_err(|e| error_chain(&e))?;
    let der = resp
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .ok_or("no certificate in the TLS handshake")?;
    Ok(crate::pin::der_to_pem(der))
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

pub async fn run(app: AppHandle, address: String, pin: Option<String>) {
    let shared = app.state::<Arc<Shared>>().inner().clone();
    let mut delay = Duration::from_secs(1);
    let (hub, client, leaf) = loop {
        let found = match discover(&address, pin.as_deref()).await {
            Ok(Found::Ready(hub)) => match client(hub.ca_pem.as_deref()) {
                Ok(client) => match &hub.ca_pem {
                    None => Ok((hub, client, None)),
                    Some(_) => match server_certificate(&client, &hub.base).await {
                        Ok(leaf) => Ok((hub, client, Some(leaf))),
                        Err(e) => Err(FindError::Unreachable(e)),
                    },
                },
                Err(e) => Err(FindError::Refused(e)),
            },
            Ok(Found::Confirm { base, ca_sha256 }) => Err(FindError::Refused(format!(
                "the hub at {base} uses HTTPS and its certificate authority (SHA-256 {}) was \
                 never confirmed: choose the hub again below to check and trust it, or enter \
                 the address from its QR code",
                crate::pin::display(&ca_sha256)
            ))),
            Err(e) => Err(e),
        };
        match found {
            Ok(found) => break found,
            Err(FindError::Refused(error)) => {
                tracing::warn!(hub = %address, %error, "remote: hub refused");
                shared.set_status(Status::Failed { error });
                return;
            }
            Err(FindError::Unreachable(e)) => {
                shared.set_status(Status::Failed {
                    error: format!("cannot reach the hub at {address}: {e}. Retrying…"),
                });
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(15));
            }
        }
    };
    if let Some(lang) = hub.lang {
        shared.hub_default_language(lang);
    }
    let base = hub.base;
    if let Some(leaf) = leaf {
        tracing::info!(hub = %base, ca_sha256 = hub.ca_sha256.as_deref().unwrap_or(""), "remote: TLS hub, CA pinned");
        if let Err(e) = window::trust_certificate(&app, &base, &leaf, &client) {
            tracing::warn!(error = %e, "window: cannot accept the hub's certificate");
        }
    }
    tauri::async_runtime::spawn(crate::hub_watch::run(
        app.clone(),
        base.clone(),
        client.clone(),
        crate::hub_watch::REMOTE_GRACE,
    ));
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
