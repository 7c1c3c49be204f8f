//! Sessions a parent controls: the list of signed-in devices, signing one or
//! all others out, a new session id at every login, and a password change
//! that signs the other devices out. Each takes effect at once, for the
//! API, media tokens and open streams alike.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{Client, TestHub};

async fn login_as(hub: &TestHub, name: &str, user_agent: &str) -> Client {
    let mut c = hub.client();
    let (status, body, headers) = c
        .send(
            c.raw(Method::POST, "/login")
                .header("user-agent", user_agent)
                .json(&json!({"username": name, "password": "pass-word"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let cookie = headers["set-cookie"].to_str().unwrap();
    c.cookie = Some(cookie.split(';').next().unwrap().to_owned());
    c
}

#[tokio::test]
async fn a_parent_sees_their_devices_and_signs_one_out_at_once() {
    let hub = TestHub::start().await;
    hub.user("ann").await;
    let phone = login_as(&hub, "ann", "Mozilla/5.0 (Android 14; Mobile)").await;
    let laptop = login_as(&hub, "ann", "Mozilla/5.0 (X11; Linux x86_64)").await;
    let other_user = hub.user("bob").await;

    let (status, list) = laptop.get("/api/sessions").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let list = list.as_array().unwrap().clone();
    assert_eq!(
        list.len(),
        3,
        "signup's own login, the phone and the laptop: {list:?}"
    );
    let current: Vec<_> = list.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["user_agent"], "Mozilla/5.0 (X11; Linux x86_64)");
    assert_eq!(current[0]["ip"], "127.0.0.1");
    for s in &list {
        for field in ["created_at", "last_seen_at", "expires_at"] {
            assert!(
                s[field].as_str().is_some_and(|t| t.ends_with('Z')),
                "{field}: {s}"
            );
        }
    }
    let phone_id = list
        .iter()
        .find(|s| s["user_agent"] == "Mozilla/5.0 (Android 14; Mobile)")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Another user cannot end it.
    let (status, _, _) = other_user
        .send(other_user.raw(Method::DELETE, &format!("/api/sessions/{phone_id}")))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(phone.get("/api/agents").await.0, StatusCode::OK);

    let (status, body, _) = laptop
        .send(laptop.raw(Method::DELETE, &format!("/api/sessions/{phone_id}")))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(phone.get("/api/agents").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(laptop.get("/api/agents").await.0, StatusCode::OK);

    // "Sign out all other devices" leaves this one.
    let (status, body) = laptop.post("/api/sessions/revoke_others", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["revoked"], 1, "the signup's session: {body}");
    let (_, list) = laptop.get("/api/sessions").await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(
        other_user.get("/api/agents").await.0,
        StatusCode::OK,
        "bob is untouched"
    );
}

#[tokio::test]
async fn logging_in_again_gives_a_new_session_id_and_ends_the_old_one() {
    let hub = TestHub::start().await;
    let mut ann = hub.user("ann").await;
    let before = ann.client_clone();
    ann.login("ann", "pass-word").await;
    assert_ne!(ann.cookie, before.cookie);
    assert_eq!(before.get("/api/agents").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(ann.get("/api/agents").await.0, StatusCode::OK);
}

#[tokio::test]
async fn changing_the_password_signs_out_every_other_device() {
    let hub = TestHub::start().await;
    let ann = hub.user("ann").await;
    let phone = login_as(&hub, "ann", "phone").await;

    let (status, body) = ann
        .post(
            "/api/account/password",
            json!({"current_password": "wrong", "new_password": "new-pass-word"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(phone.get("/api/agents").await.0, StatusCode::OK);

    let (status, body) = ann
        .post(
            "/api/account/password",
            json!({"current_password": "pass-word", "new_password": "xy"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "too short: {body}");

    let (status, body) = ann
        .post(
            "/api/account/password",
            json!({"current_password": "pass-word", "new_password": "new-pass-word"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(phone.get("/api/agents").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        ann.get("/api/agents").await.0,
        StatusCode::OK,
        "this device stays"
    );

    let c = hub.client();
    let (status, _) = c
        .post(
            "/login",
            json!({"username": "ann", "password": "pass-word"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = c
        .post(
            "/login",
            json!({"username": "ann", "password": "new-pass-word"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn media_tokens_and_open_streams_end_with_their_session() {
    let hub = TestHub::start().await;
    let mut ann = hub.user("ann").await;
    hub.cradle_for(&mut ann, "cam").await;
    let cradle = hub.cradle("cam").await;
    cradle.frame(&crate::common::fixture_frame(0)).await;
    let phone = login_as(&hub, "ann", "phone").await;

    let (status, token) = phone.post("/api/media_token/cam", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let token = token["token"].as_str().unwrap().to_owned();
    let anonymous = hub.client();
    let stream_url = format!("/stream/cam?token={token}");
    let live = anonymous
        .raw(Method::GET, &stream_url)
        .timeout(Duration::from_secs(3600))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), StatusCode::OK);
    let mut live = live.bytes_stream();
    assert!(live.next().await.is_some(), "the stream starts");
    let mut events = phone.events().await;
    events.next("snapshot", Duration::from_secs(10)).await;

    let (status, _) = phone.post("/logout", json!({})).await;
    assert_eq!(status, StatusCode::OK);

    // The token is refused from now on, and the open streams end.
    let (status, _, _) = anonymous
        .send(anonymous.raw(Method::GET, &stream_url))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = live.next().await {
            if chunk.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the live view ends with the session");
    let events_ended = tokio::time::timeout(Duration::from_secs(10), events.closed()).await;
    assert!(
        events_ended.is_ok(),
        "the event stream ends with the session"
    );

    // Ann's other device still watches.
    let (status, token) = ann.post("/api/media_token/cam", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let url = format!("/stream/cam?token={}", token["token"].as_str().unwrap());
    let res = anonymous
        .raw(Method::GET, &url)
        .timeout(Duration::from_secs(3600))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}
