//! The app watches its hub's `/health`, because a parent trusts silence
//! only while the hub works: a notification when the remote hub has been
//! unreachable (or unhealthy) for a minute, or at once when the in-process
//! hub turns unhealthy; another when it recovers.

use std::time::{Duration, Instant};

use cradle_hub::i18n::Lang;
use serde_json::Value;
use tauri::{AppHandle, Manager};

use crate::notify;
use crate::state::Shared;

/// How often `/health` is asked.
const POLL: Duration = Duration::from_secs(10);
/// A remote hub may be away this long (a reboot, Wi-Fi) before it is news.
pub const REMOTE_GRACE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    Healthy,
    /// It answered 503 with these problems.
    Unhealthy(String),
    Unreachable(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Down { reason: String, unreachable: bool },
    Recovered,
}

pub struct HubWatch {
    grace: Duration,
    bad_since: Option<Instant>,
    announced: bool,
}

impl HubWatch {
    pub fn new(grace: Duration) -> HubWatch {
        HubWatch {
            grace,
            bad_since: None,
            announced: false,
        }
    }

    pub fn observe(&mut self, seen: &Seen, now: Instant) -> Option<Notice> {
        let (reason, unreachable) = match seen {
            Seen::Healthy => {
                self.bad_since = None;
                return std::mem::take(&mut self.announced).then_some(Notice::Recovered);
            }
            Seen::Unhealthy(r) => (r, false),
            Seen::Unreachable(r) => (r, true),
        };
        let since = *self.bad_since.get_or_insert(now);
        if self.announced || now.duration_since(since) < self.grace {
            return None;
        }
        self.announced = true;
        Some(Notice::Down {
            reason: reason.clone(),
            unreachable,
        })
    }
}

async fn check(client: &reqwest::Client, base: &str) -> Seen {
    let resp = match client
        .get(format!("{base}/health"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => return Seen::Unreachable(e.to_string()),
    };
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        return Seen::Healthy;
    }
    let problems: Vec<&str> = body
        .get("problems")
        .and_then(Value::as_array)
        .map(|p| p.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    Seen::Unhealthy(if problems.is_empty() {
        format!("HTTP {status}")
    } else {
        problems.join(", ")
    })
}

fn text(notice: &Notice, base: &str, lang: Lang) -> (String, String) {
    match (notice, lang) {
        (
            Notice::Down {
                reason,
                unreachable: true,
            },
            Lang::En,
        ) => (
            "Cradle Hub unreachable".into(),
            format!(
                "The hub at {base} has not answered for a minute ({reason}). Alerts cannot reach this computer."
            ),
        ),
        (
            Notice::Down {
                reason,
                unreachable: true,
            },
            Lang::Ko,
        ) => (
            "허브에 연결할 수 없음".into(),
            format!(
                "{base}의 허브가 1분 동안 응답하지 않습니다 ({reason}). 이 컴퓨터로 경보가 오지 않습니다."
            ),
        ),
        (Notice::Down { reason, .. }, Lang::En) => (
            "Cradle Hub needs attention".into(),
            format!("The hub cannot be trusted to raise alerts: {reason}."),
        ),
        (Notice::Down { reason, .. }, Lang::Ko) => (
            "허브 점검 필요".into(),
            format!("허브가 경보를 제대로 보낼 수 없는 상태입니다: {reason}."),
        ),
        (Notice::Recovered, Lang::En) => (
            "Cradle Hub is back".into(),
            "The hub works again; alerts reach this computer.".into(),
        ),
        (Notice::Recovered, Lang::Ko) => (
            "허브 정상 복구".into(),
            "허브가 다시 정상적으로 동작합니다.".into(),
        ),
    }
}

/// Polls `base`'s `/health` until the app exits.
pub async fn run(app: AppHandle, base: String, client: reqwest::Client, grace: Duration) {
    let shared = app.state::<std::sync::Arc<Shared>>().inner().clone();
    let mut watch = HubWatch::new(grace);
    loop {
        let seen = check(&client, &base).await;
        if let Some(notice) = watch.observe(&seen, Instant::now()) {
            tracing::info!(?notice, "hub watch");
            let (summary, body) = text(&notice, &base, shared.lang());
            notify::show_notice(summary, body, matches!(notice, Notice::Down { .. }));
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remote_hub_is_news_after_a_minute_away_and_again_when_back() {
        let t0 = Instant::now();
        let mut w = HubWatch::new(REMOTE_GRACE);
        let away = Seen::Unreachable("connection refused".into());
        assert_eq!(w.observe(&Seen::Healthy, t0), None);
        assert_eq!(w.observe(&away, t0 + Duration::from_secs(1)), None);
        assert_eq!(w.observe(&away, t0 + Duration::from_secs(60)), None);
        assert_eq!(
            w.observe(&away, t0 + Duration::from_secs(61)),
            Some(Notice::Down {
                reason: "connection refused".into(),
                unreachable: true
            })
        );
        assert_eq!(
            w.observe(&away, t0 + Duration::from_secs(120)),
            None,
            "once"
        );
        assert_eq!(
            w.observe(&Seen::Healthy, t0 + Duration::from_secs(130)),
            Some(Notice::Recovered)
        );
        assert_eq!(
            w.observe(&Seen::Healthy, t0 + Duration::from_secs(140)),
            None
        );
    }

    #[test]
    fn a_short_outage_is_not_news() {
        let t0 = Instant::now();
        let mut w = HubWatch::new(REMOTE_GRACE);
        let away = Seen::Unreachable("timeout".into());
        w.observe(&away, t0);
        assert_eq!(
            w.observe(&Seen::Healthy, t0 + Duration::from_secs(30)),
            None
        );
        assert_eq!(
            w.observe(&away, t0 + Duration::from_secs(80)),
            None,
            "the clock restarted"
        );
    }

    #[test]
    fn the_in_process_hub_is_news_as_soon_as_it_is_unhealthy() {
        let t0 = Instant::now();
        let mut w = HubWatch::new(Duration::ZERO);
        assert_eq!(
            w.observe(&Seen::Unhealthy("disk nearly full".into()), t0),
            Some(Notice::Down {
                reason: "disk nearly full".into(),
                unreachable: false
            })
        );
        let (summary, body) = text(
            &Notice::Down {
                reason: "disk nearly full".into(),
                unreachable: false,
            },
            "http://127.0.0.1:8080",
            Lang::En,
        );
        assert!(summary.contains("attention") && body.contains("disk nearly full"));
    }
}
