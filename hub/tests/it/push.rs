//! Web Push against a local push-service stand-in (this machine reaches no
//! real push service): the stand-in receives each POST, checks the VAPID
//! token against the hub's public key and decrypts the RFC 8291 payload
//! with the private key and auth secret of a "device" the test made. Its
//! decryption is written here from the RFC, not taken from the library the
//! hub encrypts with, and is checked on the RFC's own example.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes128Gcm, Nonce};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::mpsc;

use crate::common::{Client, TestHub};

/// One POST the stand-in received.
struct Received {
    /// The last path segment: which test device it was for.
    device: String,
    headers: HeaderMap,
    body: Bytes,
}

/// A push service on 127.0.0.1: `POST /ok/<device>` is accepted (201),
/// `POST /gone/<device>` answers 410 like an expired subscription.
struct PushService {
    addr: SocketAddr,
    received: mpsc::UnboundedReceiver<Received>,
}

impl PushService {
    async fn start() -> PushService {
        // Every POST is recorded; `/gone/...` answers as an expired
        // subscription does.
        async fn receive(
            State(tx): State<mpsc::UnboundedSender<Received>>,
            Path((answer, device)): Path<(String, String)>,
            headers: HeaderMap,
            body: Bytes,
        ) -> AxumStatus {
            let _ = tx.send(Received {
                device,
                headers,
                body,
            });
            if answer == "gone" {
                AxumStatus::GONE
            } else {
                AxumStatus::CREATED
            }
        }
        let (tx, received) = mpsc::unbounded_channel();
        let app = Router::new()
            .route("/{answer}/{device}", post(receive))
            .with_state(tx);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the stand-in");
        let addr = listener.local_addr().expect("its address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        PushService { addr, received }
    }

    fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next `n` POSTs, by device.
    async fn next(&mut self, n: usize) -> BTreeMap<String, Received> {
        let mut got = BTreeMap::new();
        while got.len() < n {
            let r = tokio::time::timeout(Duration::from_secs(10), self.received.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "timed out waiting for pushes; got {:?}",
                        got.keys().collect::<Vec<_>>()
                    )
                })
                .expect("the stand-in runs");
            assert!(
                got.insert(r.device.clone(), r).is_none(),
                "one push per device"
            );
        }
        got
    }
}

/// A browser's push subscription: its P-256 key pair and auth secret.
struct Device {
    secret: p256::SecretKey,
    auth: [u8; 16],
}

impl Device {
    fn new() -> Device {
        let secret = loop {
            if let Ok(k) = p256::SecretKey::from_slice(&rand::random::<[u8; 32]>()) {
                break k;
            }
        };
        Device {
            secret,
            auth: rand::random(),
        }
    }

    fn public(&self) -> Vec<u8> {
        self.secret
            .public_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec()
    }

    /// `keys` of `PushSubscription.toJSON()`.
    fn keys(&self) -> Value {
        json!({
            "p256dh": URL_SAFE_NO_PAD.encode(self.public()),
            "auth": URL_SAFE_NO_PAD.encode(self.auth),
        })
    }

    /// RFC 8291 (with RFC 8188's aes128gcm framing), one record.
    fn decrypt(&self, message: &[u8]) -> Vec<u8> {
        assert!(message.len() > 21, "an aes128gcm header");
        let salt = &message[..16];
        let record_size = u32::from_be_bytes(message[16..20].try_into().unwrap()) as usize;
        let key_id_len = usize::from(message[20]);
        assert_eq!(key_id_len, 65, "the key id is the sender's public key");
        let sender_public = &message[21..21 + key_id_len];
        let ciphertext = &message[21 + key_id_len..];
        assert!(ciphertext.len() <= record_size, "a single record");

        let sender = p256::PublicKey::from_sec1_bytes(sender_public).expect("a P-256 point");
        let shared =
            p256::ecdh::diffie_hellman(self.secret.to_nonzero_scalar(), sender.as_affine());
        let mut key_info = b"WebPush: info\0".to_vec();
        key_info.extend_from_slice(&self.public());
        key_info.extend_from_slice(sender_public);
        let mut ikm = [0u8; 32];
        Hkdf::<Sha256>::new(Some(&self.auth), shared.raw_secret_bytes().as_slice())
            .expand(&key_info, &mut ikm)
            .unwrap();
        let content = Hkdf::<Sha256>::new(Some(salt), &ikm);
        let mut cek = [0u8; 16];
        content
            .expand(b"Content-Encoding: aes128gcm\0", &mut cek)
            .unwrap();
        let mut nonce = [0u8; 12];
        content
            .expand(b"Content-Encoding: nonce\0", &mut nonce)
            .unwrap();
        let mut plain = Aes128Gcm::new_from_slice(&cek)
            .unwrap()
            .decrypt(Nonce::from_slice(&nonce), ciphertext)
            .expect("the payload decrypts with the device's keys");
        let end = plain
            .iter()
            .rposition(|&b| b != 0)
            .expect("a padding delimiter");
        assert_eq!(plain[end], 2, "the last record's delimiter");
        plain.truncate(end);
        plain
    }
}

#[test]
fn the_stand_in_decrypts_the_rfc_8291_example() {
    let b64 = |s: &str| URL_SAFE_NO_PAD.decode(s).unwrap();
    let device = Device {
        secret: p256::SecretKey::from_slice(&b64("q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"))
            .unwrap(),
        auth: b64("BTBZMqHH6r4Tts7J_aSIgg").try_into().unwrap(),
    };
    assert_eq!(
        URL_SAFE_NO_PAD.encode(device.public()),
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
    );
    let message = b64(
        "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
    );
    assert_eq!(
        device.decrypt(&message),
        b"When I grow up, I want to be a watermelon"
    );
}

/// What a push service checks before it accepts a message: the VAPID
/// token (RFC 8292) signed by the hub's key for this service's origin, and
/// the headers of an RFC 8291 message.
fn check_push_request(r: &Received, hub_key: &str, origin: &str) {
    let header = |name: &str| {
        r.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{name} header"))
    };
    assert_eq!(header("content-encoding"), "aes128gcm");
    assert_eq!(header("urgency"), "high");
    let ttl: u64 = header("ttl").parse().expect("TTL in seconds");
    assert!((60..=86_400).contains(&ttl), "TTL {ttl}");

    let params = header("authorization")
        .strip_prefix("vapid ")
        .expect("a vapid Authorization");
    let param = |name: &str| {
        params
            .split(',')
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("vapid {name}="))
    };
    assert_eq!(param("k"), hub_key, "signed with the hub's VAPID key");
    let token: Vec<&str> = param("t").split('.').collect();
    assert_eq!(token.len(), 3, "a JWS compact token");
    let part = |i: usize| -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token[i]).unwrap()).unwrap()
    };
    assert_eq!(part(0)["alg"], "ES256");
    let key = VerifyingKey::from_sec1_bytes(&URL_SAFE_NO_PAD.decode(hub_key).unwrap()).unwrap();
    let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(token[2]).unwrap()).unwrap();
    key.verify(format!("{}.{}", token[0], token[1]).as_bytes(), &signature)
        .expect("the token's signature verifies with the hub's public key");
    let claims = part(1);
    assert_eq!(
        claims["aud"], origin,
        "the audience is the push service's origin"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let exp = claims["exp"].as_i64().expect("exp");
    assert!(exp > now && exp <= now + 86_400, "exp within a day: {exp}");
    let sub = claims["sub"].as_str().expect("sub");
    assert!(
        sub.starts_with("mailto:") || sub.starts_with("https://"),
        "{sub}"
    );
}

async fn subscribe(c: &Client, endpoint: &str, device: &Device, lang: Option<&str>) {
    let mut body = json!({"endpoint": endpoint, "keys": device.keys()});
    if let Some(lang) = lang {
        body["lang"] = json!(lang);
    }
    let (s, answer) = c.post("/api/push_subscription", body).await;
    assert_eq!(s, StatusCode::OK, "{answer}");
    assert_eq!(answer, json!({"success": true}));
}

async fn join(t: &TestHub, owner: &Client, name: &str, role: &str) -> Client {
    let member = t.user(name).await;
    let (s, invite) = owner
        .post("/api/cradles/c1/invites", json!({"role": role}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{invite}");
    let (s, joined) = member
        .post("/api/invites/accept", json!({"code": invite["code"]}))
        .await;
    assert_eq!(s, StatusCode::OK, "{joined}");
    member
}

/// Rows left in `push_subscriptions` for this endpoint (read from the
/// hub's database file, as an admin would).
fn subscriptions_of(t: &TestHub, endpoint: &str) -> i64 {
    let db = rusqlite::Connection::open_with_flags(
        t.dir.path().join("cradle-hub.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open the hub's database");
    db.query_row(
        "SELECT COUNT(*) FROM push_subscriptions WHERE endpoint = ?1",
        [endpoint],
        |r| r.get(0),
    )
    .expect("count")
}

async fn resolve(c: &Client, id: i64) {
    let (s, body) = c
        .post(&format!("/api/alert_logs/{id}/resolve"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

/// The cradle's "push notifications" switch.
async fn set_push(c: &Client, on: bool) {
    let (s, body) = c
        .post(
            "/api/alert_settings/c1",
            json!({"push_notifications_enabled": on}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

/// The id of the newest alert once it is newer than `previous`.
async fn newest_alert_after(c: &Client, previous: i64) -> i64 {
    c.wait_for("/api/alert_logs", |b| b[0]["id"].as_i64() > Some(previous))
        .await[0]["id"]
        .as_i64()
        .expect("an id")
}

#[tokio::test]
async fn an_alert_is_pushed_encrypted_to_each_members_devices_in_their_language() {
    let mut service = PushService::start().await;
    let t = TestHub::start_with(|s| s.allow_insecure_push = true).await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;
    let mut bob = join(&t, &ann, "bob", "parent").await;
    let cat = join(&t, &ann, "cat", "viewer").await;
    let (s, body) = cat
        .post("/api/cradles/c1/notify", json!({"push": false}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");

    let (s, key) = ann.get("/api/push/public_key").await;
    assert_eq!(s, StatusCode::OK, "{key}");
    let hub_key = key["public_key"].as_str().expect("a key").to_owned();
    assert_eq!(URL_SAFE_NO_PAD.decode(&hub_key).unwrap().len(), 65);
    let (s, _) = t.client().get("/api/push/public_key").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    let origin = service.origin();
    let (ann_phone, bob_phone, bob_old_tablet, cat_phone) =
        (Device::new(), Device::new(), Device::new(), Device::new());
    let gone = format!("{origin}/gone/bob-old-tablet");
    // Without `lang` a device gets the language of the request; an
    // explicit one wins over it.
    ann.lang = Some("ko");
    bob.lang = Some("ko");
    subscribe(&ann, &format!("{origin}/ok/ann-phone"), &ann_phone, None).await;
    subscribe(
        &bob,
        &format!("{origin}/ok/bob-phone"),
        &bob_phone,
        Some("en"),
    )
    .await;
    subscribe(&bob, &gone, &bob_old_tablet, Some("en")).await;
    subscribe(
        &cat,
        &format!("{origin}/ok/cat-phone"),
        &cat_phone,
        Some("en"),
    )
    .await;

    let cradle = t.cradle("c1").await;
    cradle
        .publish("temperature", r#"{"temperature": "39.0"}"#)
        .await;
    let pushes = service.next(3).await;
    assert_eq!(
        pushes.keys().map(String::as_str).collect::<Vec<_>>(),
        ["ann-phone", "bob-old-tablet", "bob-phone"],
        "the owner's and the parent's devices; not the viewer who turned push off"
    );
    for r in pushes.values() {
        check_push_request(r, &hub_key, &origin);
    }
    let ko: Value = serde_json::from_slice(&ann_phone.decrypt(&pushes["ann-phone"].body)).unwrap();
    let en: Value = serde_json::from_slice(&bob_phone.decrypt(&pushes["bob-phone"].body)).unwrap();
    let alert_id = ko["alert_id"].as_i64().expect("alert_id");
    assert_eq!(
        ko,
        json!({
            "title": "고온",
            "body": "고온 경보: 39.0 °C (기준 38.0 °C).",
            "alert_id": alert_id,
            "agent_uuid": "c1",
            "alert_type": "high_temperature",
            "reminder": false,
            "url": format!("/#/alerts/{alert_id}"),
            "tag": format!("alert-{alert_id}"),
            "lang": "ko",
        })
    );
    assert_eq!(en["title"], "High temperature");
    assert_eq!(en["body"], "High temperature: 39.0 °C (limit 38.0 °C).");
    assert_eq!(
        (en["alert_id"].as_i64(), en["lang"].as_str()),
        (Some(alert_id), Some("en"))
    );
    let old: Value =
        serde_json::from_slice(&bob_old_tablet.decrypt(&pushes["bob-old-tablet"].body)).unwrap();
    assert_eq!(old["alert_id"], alert_id);

    // Accepted by a push service: the alert counts as notified.
    ann.wait_for("/api/alert_logs", |b| {
        b[0]["id"] == alert_id && b[0]["notification_sent"] == true
    })
    .await;
    // The 410 removed bob's old tablet.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while subscriptions_of(&t, &gone) > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the 410 subscription is removed"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    // Still unresolved five minutes later: one reminder per device, under
    // the alert's tag so the phone's notification is replaced and rings.
    let later = cradle_hub::timefmt::now_millis() + cradle_hub::alerts::REMIND_AFTER_MS;
    t.hub.state.alerts.send_reminders(later);
    let reminders = service.next(2).await;
    assert_eq!(
        reminders.keys().map(String::as_str).collect::<Vec<_>>(),
        ["ann-phone", "bob-phone"]
    );
    let ko: Value =
        serde_json::from_slice(&ann_phone.decrypt(&reminders["ann-phone"].body)).unwrap();
    let en: Value =
        serde_json::from_slice(&bob_phone.decrypt(&reminders["bob-phone"].body)).unwrap();
    assert_eq!(
        (&ko["title"], &ko["reminder"], &ko["tag"]),
        (
            &json!("아직 해결되지 않음: 고온"),
            &json!(true),
            &json!(format!("alert-{alert_id}"))
        )
    );
    assert_eq!(en["title"], "Still unresolved: High temperature");
    assert_eq!(en["alert_id"], alert_id);
    // Once only.
    t.hub.state.alerts.send_reminders(later + 60_000);

    // The next alert goes to the devices that are left.
    resolve(&ann, alert_id).await;
    cradle
        .publish("temperature", r#"{"temperature": "39.5"}"#)
        .await;
    let pushes = service.next(2).await;
    assert_eq!(
        pushes.keys().map(String::as_str).collect::<Vec<_>>(),
        ["ann-phone", "bob-phone"]
    );
    let next: Value =
        serde_json::from_slice(&bob_phone.decrypt(&pushes["bob-phone"].body)).unwrap();
    let second = next["alert_id"].as_i64().expect("alert_id");
    assert!(second > alert_id, "{next}");
    assert!(
        service.received.try_recv().is_err(),
        "nothing for the removed tablet or the viewer with push off, and no second reminder"
    );
    // A resolved alert is not recalled.
    resolve(&ann, second).await;
    t.hub.state.alerts.send_reminders(
        cradle_hub::timefmt::now_millis() + 2 * cradle_hub::alerts::REMIND_AFTER_MS,
    );

    // With the cradle's push switch off an alert is pushed to nobody: the
    // next push after turning it on again is for the alert after that one.
    set_push(&ann, false).await;
    cradle
        .publish("temperature", r#"{"temperature": "40.0"}"#)
        .await;
    let silent = newest_alert_after(&ann, second).await;
    resolve(&ann, silent).await;
    set_push(&ann, true).await;
    cradle
        .publish("temperature", r#"{"temperature": "40.5"}"#)
        .await;
    let pushes = service.next(2).await;
    let last: Value =
        serde_json::from_slice(&ann_phone.decrypt(&pushes["ann-phone"].body)).unwrap();
    assert!(last["alert_id"].as_i64() > Some(silent), "{last}");
}

#[tokio::test]
async fn subscriptions_must_name_a_public_https_push_service() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    let device = Device::new();
    let try_endpoint = |endpoint: &str| json!({"endpoint": endpoint, "keys": device.keys()});
    for (endpoint, says) in [
        ("http://127.0.0.1:8080/push/a", "https://"),
        ("https://10.0.0.1/push/a", "public host name"),
        ("https://localhost/push/a", "public host name"),
        ("https://printer.local/push/a", "public host name"),
        ("https://fcm.googleapis.com:8443/fcm/send/a", "443"),
        ("fcm.googleapis.com/fcm/send/a", "\"endpoint\""),
    ] {
        let (s, body) = ann
            .post("/api/push_subscription", try_endpoint(endpoint))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{endpoint}: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| m.contains(says)),
            "{endpoint}: {body}"
        );
    }
    ann.lang = Some("ko");
    let (_, body) = ann
        .post(
            "/api/push_subscription",
            try_endpoint("https://localhost/push/a"),
        )
        .await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("공개 호스트 이름"),
        "{body}"
    );
    ann.lang = None;

    let fcm = "https://fcm.googleapis.com/fcm/send/abc:def";
    for (keys, field) in [
        (
            json!({"p256dh": "not-a-key", "auth": device.keys()["auth"]}),
            "p256dh",
        ),
        (
            json!({"p256dh": device.keys()["p256dh"], "auth": "AAAA"}),
            "auth",
        ),
        (json!({"p256dh": device.keys()["p256dh"]}), "auth"),
    ] {
        let (s, body) = ann
            .post(
                "/api/push_subscription",
                json!({"endpoint": fcm, "keys": keys}),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["message"].as_str().unwrap().contains(field), "{body}");
    }
    let (s, body) = ann
        .post(
            "/api/push_subscription",
            json!({"endpoint": fcm, "keys": device.keys(), "lang": "fr"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let (s, _) = t
        .client()
        .post("/api/push_subscription", try_endpoint(fcm))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    subscribe(&ann, fcm, &device, Some("ko")).await;
    assert_eq!(subscriptions_of(&t, fcm), 1);
    let unsubscribe = || {
        ann.send(
            ann.raw(reqwest::Method::DELETE, "/api/push_subscription")
                .json(&json!({"endpoint": fcm})),
        )
    };
    let (s, body, _) = unsubscribe().await;
    assert_eq!(
        (s, body),
        (StatusCode::OK, json!({"success": true, "removed": true}))
    );
    let (s, body, _) = unsubscribe().await;
    assert_eq!(
        (s, body),
        (StatusCode::OK, json!({"success": true, "removed": false}))
    );
    assert_eq!(subscriptions_of(&t, fcm), 0);
}
