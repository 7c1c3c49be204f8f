//! Web Push of alerts (RFC 8030): the payload encrypted for each device
//! (RFC 8291, aes128gcm, by web-push-native), signed with the hub's VAPID
//! key, POSTed to the device's push service by a client that reaches only
//! public push services. A 404/410 answer removes the subscription; any 2xx
//! marks the alert notified.

use std::time::Duration;

use base64::Engine;
use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use futures_util::future::join_all;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use serde_json::json;
use tokio::sync::Semaphore;

use super::endpoint::{self, EndpointPolicy, PublicOnlyResolver};
use super::vapid::VapidKey;
use crate::alerts::engine::AlertType;
use crate::i18n::Lang;
use crate::store::alerts::AlertRow;
use crate::store::push::{self as push_rows, PushTarget};
use crate::store::{Store, StoreError};
use crate::timefmt::now_millis;

/// How long a push service keeps a message for a phone that is off: an
/// alert older than this is no longer news.
pub const TTL: Duration = Duration::from_secs(3600);
/// A VAPID token's lifetime (RFC 8292 allows at most 24 h).
const TOKEN_LIFETIME_S: i64 = 12 * 3600;
/// One push service slower than this never holds up the others.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Pushes in flight at once, over all alerts.
const MAX_IN_FLIGHT: usize = 8;
/// The wait before the one retry after a 429 or 5xx without Retry-After,
/// and the longest wait a Retry-After may ask for.
const RETRY_DELAY: Duration = Duration::from_secs(2);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(10);
/// Contact for push services when none is configured (RFC 8292 `sub`).
pub const DEFAULT_CONTACT: &str = "mailto:cradle-hub@example.com";

/// Browsers send unpadded base64url; padded input is taken as well.
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A subscription's keys, checked, as stored (unpadded base64url).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionKeys {
    pub p256dh: String,
    pub auth: String,
}

/// The request field a key failed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid push subscription key {0}")]
pub struct BadKey(pub &'static str);

/// `p256dh` must be an uncompressed P-256 point (65 bytes), `auth` a
/// 16-byte secret, both base64url.
pub fn check_keys(p256dh: &str, auth: &str) -> Result<SubscriptionKeys, BadKey> {
    let public = decode_public(p256dh).ok_or(BadKey("p256dh"))?;
    let secret = decode_auth(auth).ok_or(BadKey("auth"))?;
    Ok(SubscriptionKeys {
        p256dh: URL_SAFE_NO_PAD.encode(public_bytes(&public)),
        auth: URL_SAFE_NO_PAD.encode(secret),
    })
}

fn decode_public(b64: &str) -> Option<p256::PublicKey> {
    let bytes = BASE64URL.decode(b64.trim()).ok()?;
    if bytes.len() != 65 || bytes[0] != 4 {
        return None;
    }
    p256::PublicKey::from_sec1_bytes(&bytes).ok()
}

fn decode_auth(b64: &str) -> Option<[u8; 16]> {
    BASE64URL.decode(b64.trim()).ok()?.try_into().ok()
}

fn public_bytes(key: &p256::PublicKey) -> Vec<u8> {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    key.to_encoded_point(false).as_bytes().to_vec()
}

/// Why a device hears of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Announce {
    Raised,
    /// Still unresolved [`crate::alerts::REMIND_AFTER_MS`] later: once
    /// more, under the same tag, so the phone's notification is replaced
    /// and rings again rather than piling up.
    Reminder,
}

/// What the service worker shows: the alert in the device's language and
/// where tapping it leads. `None` for an alert type this hub does not know.
pub fn payload(alert: &AlertRow, lang: Lang, announce: Announce) -> Option<serde_json::Value> {
    let t = AlertType::parse(&alert.alert_type)?;
    let title = match announce {
        Announce::Raised => crate::alerts::messages::title(t, lang).to_owned(),
        Announce::Reminder => crate::alerts::messages::reminder_title(t, lang),
    };
    Some(json!({
        "title": title,
        "body": crate::alerts::message(alert, lang),
        "alert_id": alert.id,
        "agent_uuid": alert.agent_uuid,
        "alert_type": alert.alert_type,
        "reminder": announce == Announce::Reminder,
        "url": format!("/#/alerts/{}", alert.id),
        "tag": format!("alert-{}", alert.id),
        "lang": lang.code(),
    }))
}

/// A push service's answer, as far as the hub acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Delivered,
    /// The subscription expired or was withdrawn: remove it.
    Gone,
    /// Busy or failing: one more try after this wait.
    RetryAfter(Duration),
    Refused(StatusCode),
}

fn classify(status: StatusCode, headers: &HeaderMap) -> Answer {
    match status.as_u16() {
        200..=299 => Answer::Delivered,
        404 | 410 => Answer::Gone,
        429 | 500..=599 => {
            let asked = headers
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            Answer::RetryAfter(
                asked
                    .unwrap_or(RETRY_DELAY)
                    .clamp(Duration::from_secs(1), MAX_RETRY_DELAY),
            )
        }
        _ => Answer::Refused(status),
    }
}

/// The push sender: VAPID key, HTTP client, endpoint policy.
pub struct Push {
    vapid: VapidKey,
    client: reqwest::Client,
    policy: EndpointPolicy,
    contact: String,
    in_flight: Semaphore,
}

impl Push {
    pub fn new(vapid: VapidKey, policy: EndpointPolicy, contact: String) -> reqwest::Result<Push> {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            // A redirect could lead anywhere, past the endpoint check.
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve names past the resolver's check.
            .no_proxy()
            .dns_resolver(std::sync::Arc::new(PublicOnlyResolver { policy }))
            .https_only(policy == EndpointPolicy::PublicHttps)
            .user_agent(concat!("cradle-hub/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Push {
            vapid,
            client,
            policy,
            contact,
            in_flight: Semaphore::new(MAX_IN_FLIGHT),
        })
    }

    /// `applicationServerKey` for `pushManager.subscribe`.
    pub fn public_key(&self) -> &str {
        self.vapid.public_key()
    }

    pub fn policy(&self) -> EndpointPolicy {
        self.policy
    }
}

/// Pushes `alert` to every subscription of every member who can see its
/// cradle and has push on for it, all at once (bounded by
/// [`MAX_IN_FLIGHT`]). Returns when each has been answered or given up on.
pub async fn send_all(push: &Push, store: &Store, alert: &AlertRow, announce: Announce) {
    let uuid = alert.agent_uuid.clone();
    let targets = match read_targets(store, uuid).await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(alert = alert.id, error = %e, "push: cannot read the subscriptions; alert not pushed");
            return;
        }
    };
    join_all(
        targets
            .into_iter()
            .map(|t| send_one(push, store, alert, announce, t)),
    )
    .await;
}

/// The subscriptions to push to; a read pool that is momentarily full is
/// waited out briefly rather than losing the alert.
async fn read_targets(store: &Store, uuid: String) -> Result<Vec<PushTarget>, StoreError> {
    let mut tries = 0;
    loop {
        let uuid = uuid.clone();
        match store.read(move |c| push_rows::targets(c, &uuid)).await {
            Err(StoreError::Busy) if tries < 5 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            other => return other,
        }
    }
}

async fn send_one(
    push: &Push,
    store: &Store,
    alert: &AlertRow,
    announce: Announce,
    target: PushTarget,
) {
    // Endpoints are capabilities: only their host is ever logged.
    let url = match endpoint::check(&target.endpoint, push.policy) {
        Ok(url) => url,
        Err(why) => {
            tracing::info!(%why, "push: subscription removed: its endpoint is not an allowed push service");
            remove(store, target.id).await;
            return;
        }
    };
    let host = url.host_str().unwrap_or_default().to_owned();
    let (Some(ua_public), Some(auth)) = (decode_public(&target.p256dh), decode_auth(&target.auth))
    else {
        tracing::info!(host, "push: subscription removed: its keys are not valid");
        remove(store, target.id).await;
        return;
    };
    let lang = if target.lang == "ko" {
        Lang::Ko
    } else {
        Lang::En
    };
    let Some(message) = payload(alert, lang, announce) else {
        return;
    };
    let body = match web_push_native::encrypt(
        message.to_string().into_bytes(),
        &ua_public,
        &web_push_native::Auth::clone_from_slice(&auth),
    ) {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(host, error = %e, "push: cannot encrypt the message");
            return;
        }
    };
    let authorization = push.vapid.authorization(
        &endpoint::origin(&url),
        now_millis() / 1000 + TOKEN_LIFETIME_S,
        &push.contact,
    );
    let request = || {
        push.client
            .post(url.clone())
            .header("TTL", TTL.as_secs())
            .header("Urgency", "high")
            .header(CONTENT_ENCODING, "aes128gcm")
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(AUTHORIZATION, &authorization)
            .body(body.clone())
    };
    let mut answer = post(push, request()).await;
    if let Ok(Answer::RetryAfter(wait)) = answer {
        tokio::time::sleep(wait).await;
        answer = post(push, request()).await;
    }
    match answer {
        Ok(Answer::Delivered) => {
            let (alert_id, id, now) = (alert.id, target.id, now_millis());
            if let Err(e) = store
                .write_waiting(move |c| push_rows::mark_sent(c, alert_id, id, now))
                .await
            {
                tracing::warn!(alert = alert_id, error = %e, "push: delivered, but cannot record it");
            }
        }
        Ok(Answer::Gone) => {
            tracing::info!(
                host,
                "push: subscription removed: the push service no longer knows it"
            );
            remove(store, target.id).await;
        }
        Ok(Answer::RetryAfter(_)) => {
            tracing::warn!(
                host,
                alert = alert.id,
                "push: the push service is busy or failing; gave up after a retry"
            );
        }
        Ok(Answer::Refused(status)) => {
            tracing::warn!(
                host,
                alert = alert.id,
                status = status.as_u16(),
                "push: the push service refused the message"
            );
        }
        Err(e) => {
            tracing::warn!(host, alert = alert.id, error = %e, "push: cannot reach the push service");
        }
    }
}

/// One POST, holding one of the in-flight permits while it runs.
async fn post(push: &Push, request: reqwest::RequestBuilder) -> Result<Answer, reqwest::Error> {
    // Never closed, so always a permit.
    let _permit = push.in_flight.acquire().await;
    let response = request.send().await.map_err(reqwest::Error::without_url)?;
    Ok(classify(response.status(), response.headers()))
}

async fn remove(store: &Store, id: i64) {
    if let Err(e) = store.write_waiting(move |c| push_rows::remove(c, id)).await {
        tracing::warn!(error = %e, "push: cannot remove a subscription");
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    /// From RFC 8291, appendix A.
    const UA_PUBLIC: &str =
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";

    #[test]
    fn subscription_keys_must_be_a_p256_point_and_a_16_byte_secret() {
        let keys = check_keys(UA_PUBLIC, AUTH).unwrap();
        assert_eq!(
            (keys.p256dh.as_str(), keys.auth.as_str()),
            (UA_PUBLIC, AUTH)
        );
        // Padding is accepted and dropped.
        let padded = check_keys(&format!("{UA_PUBLIC}="), &format!("{AUTH}==")).unwrap();
        assert_eq!(padded, keys);
        let mut off_curve = URL_SAFE_NO_PAD.decode(UA_PUBLIC).unwrap();
        off_curve[64] ^= 1;
        let compressed = {
            let mut c = URL_SAFE_NO_PAD.decode(UA_PUBLIC).unwrap()[..33].to_vec();
            c[0] = 2;
            c
        };
        for bad in [
            "",
            "not base64!",
            &URL_SAFE_NO_PAD.encode(off_curve),
            &URL_SAFE_NO_PAD.encode(compressed),
            &URL_SAFE_NO_PAD.encode([4u8; 65]),
        ] {
            assert_eq!(check_keys(bad, AUTH), Err(BadKey("p256dh")), "{bad}");
        }
        for bad in [
            "",
            "AAAA",
            &URL_SAFE_NO_PAD.encode([1u8; 17]),
            "BTBZMqHH6r4Tts7J/aSIgg",
        ] {
            assert_eq!(check_keys(UA_PUBLIC, bad), Err(BadKey("auth")), "{bad}");
        }
    }

    fn alert(alert_type: &str) -> AlertRow {
        AlertRow {
            id: 42,
            agent_uuid: "c1".into(),
            alert_type: alert_type.into(),
            temperature: Some(39.0),
            face_detected: None,
            notification_sent: false,
            resolved: false,
            created_at: 0,
            resolved_at: None,
            detail: r#"{"temperature":39.0,"max_temperature":38.0}"#.into(),
        }
    }

    #[test]
    fn the_payload_is_in_the_devices_language_and_opens_the_alert() {
        let a = alert("high_temperature");
        let en = payload(&a, Lang::En, Announce::Raised).unwrap();
        assert_eq!(
            en,
            json!({
                "title": "High temperature",
                "body": "High temperature: 39.0 °C (limit 38.0 °C).",
                "alert_id": 42,
                "agent_uuid": "c1",
                "alert_type": "high_temperature",
                "reminder": false,
                "url": "/#/alerts/42",
                "tag": "alert-42",
                "lang": "en",
            })
        );
        let ko = payload(&a, Lang::Ko, Announce::Raised).unwrap();
        assert_eq!(
            (ko["title"].as_str(), ko["lang"].as_str()),
            (Some("고온"), Some("ko"))
        );
        assert!(ko["body"].as_str().unwrap().starts_with("고온 경보"));
        assert_eq!(
            payload(&alert("no_such_type"), Lang::En, Announce::Raised),
            None
        );
    }

    #[test]
    fn a_reminder_says_so_and_replaces_the_alerts_notification() {
        let a = alert("high_temperature");
        let raised = payload(&a, Lang::En, Announce::Raised).unwrap();
        let en = payload(&a, Lang::En, Announce::Reminder).unwrap();
        assert_eq!(en["title"], "Still unresolved: High temperature");
        assert_eq!(en["reminder"], true);
        assert_eq!(
            (&en["tag"], &en["url"], &en["body"]),
            (&raised["tag"], &raised["url"], &raised["body"]),
            "the same notification, rung again"
        );
        let ko = payload(&a, Lang::Ko, Announce::Reminder).unwrap();
        assert_eq!(ko["title"], "아직 해결되지 않음: 고온");
    }

    #[test]
    fn answers_are_delivered_gone_retried_once_or_refused() {
        let none = HeaderMap::new();
        let with_retry = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(RETRY_AFTER, HeaderValue::from_static(v));
            h
        };
        let status = |s: u16| StatusCode::from_u16(s).unwrap();
        assert_eq!(classify(status(201), &none), Answer::Delivered);
        assert_eq!(classify(status(204), &none), Answer::Delivered);
        assert_eq!(classify(status(404), &none), Answer::Gone);
        assert_eq!(classify(status(410), &none), Answer::Gone);
        assert_eq!(
            classify(status(503), &none),
            Answer::RetryAfter(RETRY_DELAY)
        );
        assert_eq!(
            classify(status(429), &with_retry("3")),
            Answer::RetryAfter(Duration::from_secs(3))
        );
        assert_eq!(
            classify(status(429), &with_retry("3600")),
            Answer::RetryAfter(MAX_RETRY_DELAY)
        );
        assert_eq!(classify(status(400), &none), Answer::Refused(status(400)));
        assert_eq!(classify(status(403), &none), Answer::Refused(status(403)));
        assert_eq!(classify(status(413), &none), Answer::Refused(status(413)));
    }
}
