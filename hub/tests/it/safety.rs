//! Safety over real MQTT and HTTP: liveness alerts that resolve themselves,
//! motor limits, the motor log, and what survives a restart.

use std::time::Duration;

use cradle_hub::config::Settings;
use cradle_hub::motor::{Action, Actor};
use cradle_hub::store::motor_log;
use cradle_hub::timefmt::now_millis;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Client, Cradle, TestHub, claim_cradle, fixture_frame};

fn alert_of<'a>(kind: &'a str, uuid: &'a str) -> impl Fn(&Value) -> bool + 'a {
    move |a| a["alert_type"] == kind && a["agent_uuid"] == uuid
}

#[tokio::test]
async fn a_silent_cradle_and_a_dead_camera_raise_alerts_that_resolve_themselves() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "quiet").await;
    t.cradle_for(&mut ann, "blind").await;
    let (s, body) = ann
        .post("/api/alert_settings/quiet", json!({"offline_after": 5}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "below the 10 s minimum: {body}");
    assert!(body["message"].as_str().unwrap().contains("offline_after"));
    for (uuid, field) in [("quiet", "offline_after"), ("blind", "camera_silent_after")] {
        let (s, _) = ann
            .post(&format!("/api/alert_settings/{uuid}"), json!({field: 10}))
            .await;
        assert_eq!(s, StatusCode::OK);
    }
    let (_, settings) = ann.get("/api/alert_settings/quiet").await;
    assert_eq!(settings["offline_after"], 10);
    assert_eq!(
        settings["max_temperature"], 38.0,
        "a partial update keeps the rest"
    );
    assert_eq!(settings["offline_alert_enabled"], true);
    assert_eq!(settings["soothing_enabled"], false);

    let mut events = ann.events().await;
    events.next("snapshot", Duration::from_secs(5)).await;

    let quiet = t.cradle("quiet").await;
    quiet
        .publish("temperature", r#"{"temperature": "36.6"}"#)
        .await;
    quiet.frame(&fixture_frame(1)).await;
    ann.wait_for("/api/agent_status/quiet", |s| s["online"] == true)
        .await;
    quiet.power_off();

    // The blind cradle's sensors report; its camera sends nothing.
    let blind = t.cradle("blind").await;
    let sensors = tokio::spawn(async move {
        loop {
            blind
                .publish("temperature", r#"{"temperature": "36.8"}"#)
                .await;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });

    // Both within their windows, in either order.
    let mut raised = Vec::new();
    for _ in 0..2 {
        raised.push(
            events
                .next_matching("alert", Duration::from_secs(20), |a| {
                    alert_of("cradle_offline", "quiet")(a) || alert_of("camera_silent", "blind")(a)
                })
                .await,
        );
    }
    let pick = |kind: &str| {
        raised
            .iter()
            .find(|a| a["alert_type"] == kind)
            .unwrap_or_else(|| panic!("a {kind} alert: {raised:?}"))
            .clone()
    };
    let offline = pick("cradle_offline");
    assert_eq!(offline["critical"], true);
    assert!(
        offline["message"].as_str().unwrap().contains("offline"),
        "{offline}"
    );
    assert_eq!(pick("camera_silent")["critical"], true);
    sensors.abort();

    // Back: the offline alert resolves itself and says so.
    let quiet = t.cradle("quiet").await;
    quiet
        .publish("temperature", r#"{"temperature": "36.6"}"#)
        .await;
    let back = events
        .next_matching(
            "alert_resolved",
            Duration::from_secs(10),
            alert_of("cradle_offline", "quiet"),
        )
        .await;
    assert_eq!(back["id"], offline["id"]);
    assert!(
        back["message"].as_str().unwrap().contains("Back online"),
        "{back}"
    );
    let (_, status) = ann.get("/api/agent_status/quiet").await;
    assert_eq!(status["online"], true);
}

#[tokio::test]
async fn motor_commands_are_limited_logged_and_show_when_rocking_stops() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;
    let mut cradle = t.cradle("c1").await;

    let (s, body) = ann
        .post("/control_motor/c1", json!({"action": "start"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let got = tokio::time::timeout(Duration::from_secs(5), cradle.servo.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, json!({"action": "start"}));
    let status = ann
        .wait_for("/api/agent_status/c1", |s| s["rocking"] == true)
        .await;
    assert_eq!(status["rocking_by"], "user");
    let stops_at =
        cradle_hub::timefmt::parse_time(status["rocking_stops_at"].as_str().unwrap()).unwrap();
    let in_ms = stops_at - now_millis();
    assert!(
        (14 * 60_000..=15 * 60_000).contains(&in_ms),
        "stops by itself after 15 minutes ({in_ms} ms)"
    );

    let (s, _) = ann
        .post("/control_motor/c1", json!({"action": "stop"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let res = ann
        .raw(reqwest::Method::POST, "/control_motor/c1")
        .json(&json!({"action": "start"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("two seconds"),
        "{body}"
    );

    let (s, log) = ann.get("/api/cradles/c1/motor_log").await;
    assert_eq!(s, StatusCode::OK);
    let entries = log["entries"].as_array().unwrap();
    let summary: Vec<(&str, &str, bool)> = entries
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["by"].as_str().unwrap(),
                e["sent"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("start", "user", false),
            ("stop", "user", true),
            ("start", "user", true)
        ],
        "newest first: {log}"
    );
    assert_eq!(entries[2]["username"], "ann");
    assert!(
        entries[0]["error"]
            .as_str()
            .unwrap()
            .contains("2 s after a stop"),
        "{log}"
    );

    // Only the owner sees it.
    let bob = t.user("bob").await;
    assert_eq!(
        bob.get("/api/cradles/c1/motor_log").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn after_a_restart_rocking_still_stops_and_a_missing_cradle_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let hub = cradle_hub::start(Settings::ephemeral(dir.path()))
        .await
        .unwrap();
    let mut ann = Client::new(&hub.url());
    ann.signup("ann").await;
    for uuid in ["rocker", "gone"] {
        claim_cradle(&hub.url(), &mut ann, uuid).await;
        let (s, _) = ann
            .post(
                &format!("/api/alert_settings/{uuid}"),
                json!({"offline_after": 10}),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
    }
    // "gone" is heard from, then the hub stops.
    let gone = Cradle::connect(hub.mqtt_addr.unwrap().port(), "gone").await;
    gone.publish("temperature", r#"{"temperature": "36.6"}"#)
        .await;
    let store = hub.state.store.clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while store
        .read(|c| {
            c.query_row(
                "SELECT last_seen FROM agents WHERE uuid = 'gone'",
                [],
                |r| r.get::<_, Option<i64>>(0),
            )
        })
        .await
        .unwrap()
        .is_none()
    {
        assert!(tokio::time::Instant::now() < deadline, "last seen stored");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // "rocker" was started 16 minutes ago, before the hub went down.
    let started = now_millis() - 16 * 60_000;
    store
        .write(move |c| {
            motor_log::insert(
                c,
                &motor_log::Entry {
                    agent_uuid: "rocker".into(),
                    at: started,
                    action: Action::Start,
                    actor: Actor::User,
                    user_id: None,
                    username: Some("ann".into()),
                    sent: true,
                    error: None,
                },
            )
        })
        .await
        .unwrap();
    gone.power_off();
    hub.shutdown().await;

    let hub = cradle_hub::start(Settings::ephemeral(dir.path()))
        .await
        .unwrap();
    let mut ann = Client::new(&hub.url());
    ann.login("ann", "pass-word").await;
    let mut events = ann.events().await;
    events.next("snapshot", Duration::from_secs(5)).await;
    let mut rocker = Cradle::connect(hub.mqtt_addr.unwrap().port(), "rocker").await;
    let got = tokio::time::timeout(Duration::from_secs(10), rocker.servo.recv())
        .await
        .expect("the overdue stop reaches the cradle")
        .unwrap();
    assert_eq!(got, json!({"action": "stop"}));
    // Logged once taken (tries while the cradle was away are logged too).
    let log = ann
        .wait_for("/api/cradles/rocker/motor_log", |l| {
            l["entries"][0]["sent"] == true
        })
        .await;
    assert_eq!(log["entries"][0]["by"], "automatic", "{log}");
    assert_eq!(log["entries"][0]["action"], "stop", "{log}");

    let offline = events
        .next_matching(
            "alert",
            Duration::from_secs(20),
            alert_of("cradle_offline", "gone"),
        )
        .await;
    assert!(offline["message"].as_str().unwrap().contains("offline"));
    hub.shutdown().await;
}
