use reqwest::StatusCode;
use serde_json::json;

use crate::common::TestHub;

#[tokio::test]
async fn register_agent_then_claim_select_list_delete() {
    let t = TestHub::start().await;
    let ann = t.user("ann").await;

    let (s, body) = t
        .client()
        .post(
            "/register_agent",
            json!({"uuid": "cradle-a", "ip": "10.0.0.5"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["status"], "success");
    assert!(body["message"].is_string());
    let (s, body) = t
        .client()
        .post("/register_agent", json!({"ip": "10.0.0.5"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(body["status"], "error");
    let (s, _) = t
        .client()
        .post("/register_agent", json!({"uuid": "a/b", "ip": "x"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "uuid would break MQTT topics");

    let (s, body) = ann
        .post("/register_cradle", json!({"cradle_uuid": "cradle-a"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    let agent = &body["agent"];
    assert!(agent["id"].is_i64());
    assert_eq!(agent["uuid"], "cradle-a");
    assert_eq!(agent["ip"], "10.0.0.5");
    for f in ["created_at", "updated_at"] {
        let t = agent[f].as_str().unwrap();
        assert!(t.ends_with('Z') && t.contains('T'), "{f}: {t}");
    }
    // Claiming one's own cradle again is fine.
    let (s, _) = ann
        .post("/register_cradle", json!({"cradle_uuid": "cradle-a"}))
        .await;
    assert_eq!(s, StatusCode::OK);

    let (s, _) = ann.post("/register_cradle", json!({})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, body) = ann
        .post("/register_cradle", json!({"cradle_uuid": "never-heard-of"}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(body["success"], false);

    // A cradle re-registering (new ip) keeps its owner.
    t.client()
        .post(
            "/register_agent",
            json!({"uuid": "cradle-a", "ip": "10.0.0.6"}),
        )
        .await;
    let (s, list) = ann.get("/api/agents").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["uuid"], "cradle-a");
    assert_eq!(list[0]["ip"], "10.0.0.6");

    let (s, body) = ann
        .post("/select_cradle", json!({"uuid": "cradle-a"}))
        .await;
    assert_eq!((s, body["success"].clone()), (StatusCode::OK, json!(true)));
    let (_, list) = ann.get("/api/agents").await;
    assert_eq!(list[0]["selected"], true);
    let (s, _) = ann.post("/select_cradle", json!({"uuid": "nope"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (s, body) = ann
        .post("/delete_cradle", json!({"uuid": "cradle-a"}))
        .await;
    assert_eq!((s, body["success"].clone()), (StatusCode::OK, json!(true)));
    let (_, list) = ann.get("/api/agents").await;
    assert_eq!(list, json!([]));
    let (s, _) = ann.get("/api/agent_status/cradle-a").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = ann
        .post("/delete_cradle", json!({"uuid": "cradle-a"}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_cradle_is_never_taken_from_its_owner() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    let bob = t.user("bob").await;
    t.cradle_for(&mut ann, "cradle-a").await;

    let (s, body) = bob
        .post("/register_cradle", json!({"cradle_uuid": "cradle-a"}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(body["success"], false);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("another account")
    );
    let (_, list) = bob.get("/api/agents").await;
    assert_eq!(list, json!([]));

    // Once ann removes it, bob may claim it.
    ann.post("/delete_cradle", json!({"uuid": "cradle-a"}))
        .await;
    let (s, _) = bob
        .post("/register_cradle", json!({"cradle_uuid": "cradle-a"}))
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn a_cradle_heard_only_on_mqtt_can_be_claimed() {
    // PROTOCOL.md: register_agent may fail; the cradle publishes anyway.
    let t = TestHub::start().await;
    let ann = t.user("ann").await;
    let cradle = t.cradle("silent-boot").await;
    cradle
        .publish("temperature", r#"{"temperature": "36.9"}"#)
        .await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (s, body) = ann
            .post("/register_cradle", json!({"cradle_uuid": "silent-boot"}))
            .await;
        if s == StatusCode::OK {
            assert_eq!(body["agent"]["ip"], "");
            break;
        }
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert!(tokio::time::Instant::now() < deadline, "never claimable");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // From now on its readings are kept.
    cradle
        .publish("temperature", r#"{"temperature": "37.1"}"#)
        .await;
    ann.wait_for("/api/agent_status/silent-boot", |b| {
        b["temperature"] == 37.1
    })
    .await;
}

#[tokio::test]
async fn deleting_a_cradle_wipes_its_data() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "cradle-a").await;
    let cradle = t.cradle("cradle-a").await;
    cradle
        .publish("temperature", r#"{"temperature": "36.9"}"#)
        .await;
    ann.wait_for("/api/agent_status/cradle-a", |b| b["temperature"] == 36.9)
        .await;
    t.hub.state.store.flush().await.unwrap();
    ann.post("/delete_cradle", json!({"uuid": "cradle-a"}))
        .await;
    ann.post("/register_cradle", json!({"cradle_uuid": "cradle-a"}))
        .await;
    let (_, status) = ann.get("/api/agent_status/cradle-a").await;
    assert_eq!(status["temperature"], serde_json::Value::Null);
    let (_, rows) = ann
        .get("/api/sensor_data/cradle-a?start_date=2000-01-01T00:00:00Z&end_date=2100-01-01T00:00:00Z")
        .await;
    assert_eq!(rows, json!([]));
}

/// `/register_agent` needs no login: it is rate-limited per address.
#[tokio::test]
async fn register_agent_is_rate_limited_per_address() {
    let t = TestHub::start().await;
    let c = t.client();
    let mut limited = None;
    for i in 0..40 {
        let res = c
            .raw(reqwest::Method::POST, "/register_agent")
            .json(&json!({"uuid": format!("flood-{i}"), "ip": "10.0.0.9"}))
            .send()
            .await
            .unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            let retry = res.headers().get("retry-after").cloned();
            let body: serde_json::Value = res.json().await.unwrap();
            limited = Some((i, retry, body));
            break;
        }
        assert_eq!(res.status(), StatusCode::OK);
    }
    let (i, retry, body) = limited.expect("rate limited");
    assert_eq!(i, 30, "a burst of 30 passes");
    assert!(retry.is_some(), "Retry-After");
    assert_eq!(body["status"], "error");
    assert!(body["message"].as_str().unwrap().contains("Too many"));
}

#[tokio::test]
async fn a_claimed_cradles_address_change_is_shown_to_its_owner() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "cradle-a").await;
    let (_, list) = ann.get("/api/agents").await;
    assert_eq!(list[0]["previous_ip"], serde_json::Value::Null);
    let (s, _) = t
        .client()
        .post(
            "/register_agent",
            json!({"uuid": "cradle-a", "ip": "192.168.9.9"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, list) = ann.get("/api/agents").await;
    assert_eq!(list[0]["ip"], "192.168.9.9");
    assert_eq!(list[0]["previous_ip"], "10.0.0.7");
    assert!(list[0]["ip_changed_at"].as_str().unwrap().ends_with('Z'));
}

/// Deleting a cradle is one short job; its data goes in chunks afterwards
/// and is gone before anyone can claim it again.
#[tokio::test]
async fn a_removed_cradles_data_is_wiped_in_the_background() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "cradle-a").await;
    // An hour old: retention, which may run meanwhile, leaves them alone.
    t.hub
        .state
        .store
        .write(|c| {
            c.execute(
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < 20000)
                 INSERT INTO sensor_data (agent_uuid, ts, temperature) SELECT 'cradle-a', (unixepoch() - 3600) * 1000 + i, 36.6 FROM n",
                [],
            )
        })
        .await
        .unwrap();
    let batches = || {
        t.hub
            .state
            .store
            .stats()
            .batches
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let before = batches();
    let (s, _) = ann
        .post("/delete_cradle", json!({"uuid": "cradle-a"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let count = || {
        t.hub.state.store.read(|c| {
            c.query_row(
                "SELECT (SELECT count(*) FROM sensor_data WHERE agent_uuid = 'cradle-a'),
                        (SELECT count(*) FROM pending_wipes)",
                [],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
            )
        })
    };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while count().await.unwrap() != (0, 0) {
        assert!(tokio::time::Instant::now() < deadline, "never wiped");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(batches() - before > 2, "in several jobs");
}

/// A claim waits at most a few seconds for a long wipe, then asks the
/// client to come back; the wipe goes on meanwhile.
#[tokio::test]
async fn claiming_during_a_long_wipe_answers_503_with_retry_after() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "cradle-a").await;
    let (s, _) = ann
        .post("/delete_cradle", json!({"uuid": "cradle-a"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    // The writer is held up, so the wipe cannot finish.
    let (release, wait) = std::sync::mpsc::channel::<()>();
    t.hub
        .state
        .store
        .write_detached("held", move |_| {
            let _ = wait.recv();
            Ok(())
        })
        .await
        .unwrap();
    let res = ann
        .raw(reqwest::Method::POST, "/register_cradle")
        .json(&json!({"cradle_uuid": "cradle-a"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()["retry-after"], "10");
    release.send(()).unwrap();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (s, body) = ann
            .post("/register_cradle", json!({"cradle_uuid": "cradle-a"}))
            .await;
        if s == StatusCode::OK {
            break;
        }
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(tokio::time::Instant::now() < deadline, "never claimable");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
