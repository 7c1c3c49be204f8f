use std::time::Duration;

use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::TestHub;

#[tokio::test]
async fn status_has_the_latest_of_each_kind_with_contract_types() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;

    let (s, empty) = ann.get("/api/agent_status/c1").await;
    assert_eq!(s, StatusCode::OK);
    for f in [
        "temperature",
        "crying",
        "direction",
        "face_direction",
        "last_direction_time",
        "last_normal_face_time",
        "last_update",
    ] {
        assert_eq!(empty[f], Value::Null, "{f} before any reading");
    }

    let cradle = t.cradle("c1").await;
    cradle
        .publish("temperature", r#"{"temperature": "37.4"}"#)
        .await;
    cradle
        .publish(
            "crying",
            r#"{"status": "Silent", "probability": 0.12, "timestamp": "2020-01-01 00:00:00"}"#,
        )
        .await;
    cradle
        .publish(
            "direction",
            r#"{"direction": "정면 유지 중", "timestamp": "2020-01-01 00:00:00"}"#,
        )
        .await;
    cradle
        .publish(
            "direction",
            r#"{"direction": "좌측으로 움직임", "timestamp": "1999-01-01 00:00:00", "extra": [1]}"#,
        )
        .await;
    let status = ann
        .wait_for("/api/agent_status/c1", |b| {
            b["direction"] == "좌측으로 움직임" && b["crying"].is_string()
        })
        .await;
    assert_eq!(status["agent_uuid"], "c1");
    assert_eq!(status["temperature"], json!(37.4));
    assert_eq!(status["crying"], "Not Crying");
    assert_eq!(status["face_direction"], "좌측으로 움직임");
    for f in [
        "last_direction_time",
        "last_normal_face_time",
        "last_update",
    ] {
        let v = status[f]
            .as_str()
            .unwrap_or_else(|| panic!("{f} missing: {status}"));
        assert!(
            cradle_hub::timefmt::parse_time(v).is_some() && v.ends_with('Z'),
            "{f}: {v}"
        );
    }
    // The hub's receive time is used, never the cradle's clock (1999/2020 above).
    let last = cradle_hub::timefmt::parse_time(status["last_update"].as_str().unwrap()).unwrap();
    assert!((cradle_hub::timefmt::now_millis() - last).abs() < 60_000);

    // A temperature as a JSON number (older firmware) also counts.
    cradle
        .publish("temperature", r#"{"temperature": 36}"#)
        .await;
    ann.wait_for("/api/agent_status/c1", |b| b["temperature"] == json!(36.0))
        .await;

    let (s, latest) = ann.get("/get_sensor_data/c1").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(latest["temperature"], json!(36.0));
    assert_eq!(latest["crying"], "Not Crying");
    assert_eq!(latest["direction"], "좌측으로 움직임");
    assert!(latest["timestamp"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn history_returns_stored_readings_in_order() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;
    let cradle = t.cradle("c1").await;
    for temp in ["36.1", "36.2", "36.3"] {
        cradle
            .publish("temperature", format!(r#"{{"temperature": "{temp}"}}"#))
            .await;
    }
    cradle
        .publish("crying", r#"{"status": "Crying", "probability": 0.9}"#)
        .await;
    ann.wait_for("/api/agent_status/c1", |b| b["crying"] == "Crying")
        .await;
    t.hub.state.store.flush().await.unwrap();

    // Both the RFC 3339 and the naive form are accepted.
    let (s, rows) = ann
        .get("/api/sensor_data/c1?start_date=2000-01-01T00:00:00&end_date=2100-01-01T00:00:00.000Z")
        .await;
    assert_eq!(s, StatusCode::OK);
    let rows = rows.as_array().unwrap().clone();
    let temps: Vec<Value> = rows
        .iter()
        .filter(|r| !r["temperature"].is_null())
        .map(|r| r["temperature"].clone())
        .collect();
    assert_eq!(temps, vec![json!(36.1), json!(36.2), json!(36.3)]);
    assert!(rows.iter().any(|r| r["crying"] == "Crying"));
    let times: Vec<&str> = rows
        .iter()
        .map(|r| r["timestamp"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
    for r in &rows {
        let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 4, "{r}");
    }

    for bad in [
        "/api/sensor_data/c1",
        "/api/sensor_data/c1?start_date=2000-01-01T00:00:00Z",
        "/api/sensor_data/c1?start_date=yesterday&end_date=2100-01-01T00:00:00Z",
        "/api/sensor_data/c1?start_date=2100-01-01T00:00:00Z&end_date=2000-01-01T00:00:00Z",
    ] {
        let (s, body) = ann.get(bad).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
        assert!(body["message"].is_string());
    }
}

async fn next_sse_data(
    stream: &mut (impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    buf: &mut String,
) -> String {
    loop {
        if let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            if let Some(data) = event
                .lines()
                .find_map(|l| l.strip_prefix("data: ").or_else(|| l.strip_prefix("data:")))
            {
                return data.trim().to_owned();
            }
            continue;
        }
        let chunk = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("an SSE event within 5 s")
            .expect("stream open")
            .expect("chunk");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn sse_streams_push_changes_and_repeat() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;
    let cradle = t.cradle("c1").await;

    let res = ann
        .raw(Method::GET, "/crying_status/c1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut stream = res.bytes_stream();
    let mut buf = String::new();
    assert_eq!(next_sse_data(&mut stream, &mut buf).await, "Unknown");
    cradle
        .publish("crying", r#"{"status": "Crying", "probability": 0.8}"#)
        .await;
    assert_eq!(next_sse_data(&mut stream, &mut buf).await, "Crying");
    // Repeated about once a second even without change.
    assert_eq!(next_sse_data(&mut stream, &mut buf).await, "Crying");
    cradle.publish("crying", r#"{"status": "Silent"}"#).await;
    let mut seen = next_sse_data(&mut stream, &mut buf).await;
    if seen == "Crying" {
        seen = next_sse_data(&mut stream, &mut buf).await;
    }
    assert_eq!(seen, "Not Crying");

    cradle
        .publish("direction", r#"{"direction": "인식 안됨"}"#)
        .await;
    ann.wait_for("/api/agent_status/c1", |b| b["direction"] == "인식 안됨")
        .await;
    let res = ann
        .raw(Method::GET, "/direction_status/c1")
        .send()
        .await
        .unwrap();
    let mut stream = res.bytes_stream();
    let mut buf = String::new();
    assert_eq!(next_sse_data(&mut stream, &mut buf).await, "인식 안됨");
}

#[tokio::test]
async fn every_per_cradle_route_is_owner_only() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    let bob = t.user("bob").await;
    t.cradle_for(&mut ann, "c1").await;
    let mut cradle = t.cradle("c1").await;
    let anonymous = t.client();

    let gets = [
        "/api/agent_status/c1",
        "/get_sensor_data/c1",
        "/api/sensor_data/c1?start_date=2000-01-01T00:00:00Z&end_date=2100-01-01T00:00:00Z",
        "/crying_status/c1",
        "/direction_status/c1",
        "/stream/c1",
        "/api/media_token/c1",
        "/api/cradles/c1/motor_log",
    ];
    for path in gets {
        let (s, body) = bob.get(path).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "bob GET {path}");
        assert_eq!(body["success"], false);
        let (s, _) = anonymous.get(path).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "anonymous GET {path}");
    }
    for (path, body) in [
        ("/control_motor/c1", json!({"action": "start"})),
        ("/select_cradle", json!({"uuid": "c1"})),
        ("/delete_cradle", json!({"uuid": "c1"})),
    ] {
        let (s, _) = bob.post(path, body.clone()).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "bob POST {path}");
        let (s, _) = anonymous.post(path, body).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "anonymous POST {path}");
    }
    // No servo command reached the cradle; the owner's does.
    let (s, body) = ann
        .post("/control_motor/c1", json!({"action": "start"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["success"], &body["action"]),
        (&json!(true), &json!("start"))
    );
    let first = tokio::time::timeout(Duration::from_secs(5), cradle.servo.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        first,
        json!({"action": "start"}),
        "bob's command never arrived before ann's"
    );
    // And ann still has her cradle.
    let (s, _) = ann.get("/api/agent_status/c1").await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn motor_commands_reach_the_cradle() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;
    let mut cradle = t.cradle("c1").await;
    for action in ["start", "stop"] {
        // The mobile app sends the JSON content type on everything.
        let (s, body) = ann
            .post("/control_motor/c1", json!({"action": action}))
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(body["success"], true);
        let got = tokio::time::timeout(Duration::from_secs(5), cradle.servo.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, json!({"action": action}));
        let status = ann.get("/api/agent_status/c1").await.1;
        assert_eq!(status["rocking"], action == "start");
    }
    let (s, body) = ann
        .post("/control_motor/c1", json!({"action": "spin"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(body["success"], false);
    let (s, _) = ann.post("/control_motor/c1", json!({})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn health_reports_each_part() {
    let t = TestHub::start().await;
    let (s, body) = t.client().get("/health").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["mqtt"], "connected");
}

/// Long ranges are read page by page as the answer is sent (a client that
/// goes away stops the reading); more than the cap is a clear 400.
#[tokio::test]
async fn history_is_streamed_in_pages_and_capped_with_a_400() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;
    let insert = |from: i64, n: i64| {
        t.hub.state.store.write(move |c| {
            c.execute(
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?2)
                 INSERT INTO sensor_data (agent_uuid, ts, temperature) SELECT 'c1', ?1 + i, 36.0 + (i % 10) / 10.0 FROM n",
                [from, n],
            )
        })
    };
    // 2026-01-01: 10 000 readings, one a millisecond (several pages).
    let day = 1_767_225_600_000i64;
    insert(day, 10_000).await.unwrap();
    let (s, rows) = ann
        .get(
            "/api/sensor_data/c1?start_date=2026-01-01T00:00:00Z&end_date=2026-01-01T00:00:09.999Z",
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 10_000);
    assert_eq!(rows[0]["timestamp"], "2026-01-01T00:00:00.000Z");
    assert_eq!(rows[9_999]["timestamp"], "2026-01-01T00:00:09.999Z");
    assert!(
        rows.windows(2)
            .all(|w| w[0]["timestamp"].as_str() < w[1]["timestamp"].as_str())
    );
    assert_eq!(rows[4_096]["temperature"], json!(36.6));

    // More than the cap in range: 400 in the API's error shape.
    insert(day + 86_400_000, cradle_hub::api::HISTORY_LIMIT as i64 + 1)
        .await
        .unwrap();
    let (s, body) = ann
        .get("/api/sensor_data/c1?start_date=2026-01-02T00:00:00Z&end_date=2026-01-03T00:00:00Z")
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["success"], false);
    assert!(
        body["message"].as_str().unwrap().contains("shorter range"),
        "{body}"
    );
    assert_eq!(body["message"], body["error"]);
}
