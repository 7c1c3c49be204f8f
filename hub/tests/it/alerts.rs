//! Alerts over real MQTT with small thresholds, their recordings, clips
//! (checked with ffprobe), settings, the event stream and retention.

use std::process::Command;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Client, Cradle, TestHub, fixture_frame};

async fn setup() -> (TestHub, Client, Cradle) {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;
    let cradle = t.cradle("c1").await;
    (t, ann, cradle)
}

async fn alerts_of(c: &Client, n: usize) -> Vec<Value> {
    c.wait_for("/api/alert_logs", |b| {
        b.as_array().is_some_and(|a| a.len() >= n)
    })
    .await
    .as_array()
    .cloned()
    .unwrap_or_default()
}

#[tokio::test]
async fn high_temperature_fires_once_per_window_and_only_its_owner_sees_it() {
    let (t, ann, cradle) = setup().await;
    // A cradle without a settings row uses the defaults (38.0 °C).
    cradle
        .publish("temperature", r#"{"temperature": "37.9"}"#)
        .await;
    cradle
        .publish("temperature", r#"{"temperature": "38.6"}"#)
        .await;
    cradle
        .publish("temperature", r#"{"temperature": "39.0"}"#)
        .await;
    cradle
        .publish("temperature", r#"{"temperature": "36.5"}"#)
        .await;
    ann.wait_for("/api/agent_status/c1", |b| b["temperature"] == 36.5)
        .await;
    let list = alerts_of(&ann, 1).await;
    assert_eq!(
        list.len(),
        1,
        "one alert, not one per hot reading: {list:?}"
    );
    let a = &list[0];
    assert_eq!(a["alert_type"], "high_temperature");
    assert_eq!(a["agent_uuid"], "c1");
    assert_eq!(a["temperature"], json!(38.6));
    assert_eq!(a["resolved"], false);
    assert_eq!(a["resolved_at"], Value::Null);
    assert!(a["id"].is_i64() && a["notification_sent"].is_boolean());
    assert!(a["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(a["message"].as_str().unwrap().contains("38.6"), "{a}");
    assert_eq!(a["message"], a["alert_message"]);
    let id = a["id"].as_i64().unwrap();

    let (s, history) = ann.get("/api/alert_history/c1").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(history.as_array().unwrap().len(), 1);
    for f in [
        "id",
        "alert_type",
        "alert_message",
        "temperature",
        "face_detected",
        "resolved",
        "created_at",
        "resolved_at",
    ] {
        assert!(history[0].get(f).is_some(), "history lacks {f}");
    }

    // Korean readers get Korean sentences from the same stored facts.
    let mut ko = ann.client_clone();
    ko.lang = Some("ko");
    let (_, list_ko) = ko.get("/api/alert_logs").await;
    assert!(
        list_ko[0]["message"].as_str().unwrap().contains("고온"),
        "{list_ko}"
    );

    // Another account sees none of it.
    let bob = t.user("bob").await;
    let (_, bobs) = bob.get("/api/alert_logs").await;
    assert_eq!(bobs, json!([]));
    for path in [
        format!("/api/alert_detail/{id}"),
        format!("/api/alert_clip/{id}"),
        "/api/alert_history/c1".to_owned(),
        "/api/alert_settings/c1".to_owned(),
    ] {
        assert_eq!(bob.get(&path).await.0, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(
        bob.post(&format!("/api/alert_logs/{id}/resolve"), json!({}))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.client().get("/api/alert_logs").await.0,
        StatusCode::UNAUTHORIZED
    );

    // Resolve with the mobile app's empty body.
    let (s, body, _) = ann
        .send(
            ann.raw(Method::POST, &format!("/api/alert_logs/{id}/resolve"))
                .header("content-type", "application/json"),
        )
        .await;
    assert_eq!((s, body), (StatusCode::OK, json!({"success": true})));
    let (_, list) = ann.get("/api/alert_logs").await;
    assert_eq!(list[0]["resolved"], true);
    assert!(list[0]["resolved_at"].as_str().unwrap().ends_with('Z'));
    // Resolved inside the window: the next hot reading alerts again.
    cradle
        .publish("temperature", r#"{"temperature": "38.8"}"#)
        .await;
    alerts_of(&ann, 2).await;
}

#[tokio::test]
async fn duration_rules_fire_at_their_thresholds_over_mqtt() {
    let (_t, ann, cradle) = setup().await;
    let (s, _) = ann
        .post(
            "/api/alert_settings/c1",
            json!({"crying_duration_threshold": 1, "abnormal_position_timeout": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    cradle
        .publish("crying", r#"{"status": "Crying", "probability": 0.9}"#)
        .await;
    cradle
        .publish("direction", r#"{"direction": "인식 안됨"}"#)
        .await;
    let list = ann
        .wait_for("/api/alert_logs", |b| {
            let types: Vec<&str> = b
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a["alert_type"].as_str())
                .collect();
            ["crying", "face_not_detected", "abnormal_position"]
                .iter()
                .all(|t| types.contains(t))
        })
        .await;
    let face = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["alert_type"] == "face_not_detected")
        .unwrap();
    assert_eq!(face["face_detected"], false);
    // Still crying: no second crying alert within the 2-minute window.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (_, list) = ann.get("/api/alert_logs").await;
    let crying = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["alert_type"] == "crying")
        .count();
    assert_eq!(crying, 1);
}

fn ffprobe(mp4: &[u8]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clip.mp4");
    std::fs::write(&path, mp4).unwrap();
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-show_streams",
            "-show_format",
            "-of",
            "json",
        ])
        .arg(&path)
        .output()
        .expect("ffprobe runs (apt-get install ffmpeg; scripts/test.sh does it)");
    assert!(
        out.status.success(),
        "ffprobe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn an_alert_records_before_and_after_and_plays_as_h264() {
    let (t, ann, cradle) = setup().await;
    let frames = [fixture_frame(0), fixture_frame(1)];
    // Two seconds of pre-roll at 10 fps.
    for i in 0..20 {
        cradle.frame(&frames[i % 2]).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cradle
        .publish("temperature", r#"{"temperature": "39.5"}"#)
        .await;
    let id = alerts_of(&ann, 1).await[0]["id"].as_i64().unwrap();
    for i in 0..15 {
        cradle.frame(&frames[i % 2]).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cradle
        .publish("temperature", r#"{"temperature": "36.5"}"#)
        .await;
    ann.wait_for("/api/agent_status/c1", |b| b["temperature"] == 36.5)
        .await;
    t.hub.state.store.flush().await.unwrap();

    let (s, detail) = ann.get(&format!("/api/alert_detail/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(detail["alert"]["id"], id);
    let created =
        cradle_hub::timefmt::parse_time(detail["alert"]["created_at"].as_str().unwrap()).unwrap();
    let frame_list = detail["video_frames"].as_array().unwrap();
    assert_eq!(
        detail["total_frames"].as_u64().unwrap() as usize,
        frame_list.len()
    );
    let times: Vec<i64> = frame_list
        .iter()
        .map(|f| cradle_hub::timefmt::parse_time(f["timestamp"].as_str().unwrap()).unwrap())
        .collect();
    let before = times.iter().filter(|t| **t <= created).count();
    let after = times.iter().filter(|t| **t > created).count();
    // The last second before the alert at full rate, one a second before it.
    assert!(before >= 10, "pre-roll frames: {before}");
    assert!(after >= 12, "post-roll frames: {after}");
    let readings = detail["sensor_data"].as_array().unwrap();
    assert!(readings.iter().any(|r| r["temperature"] == json!(39.5)));
    assert!(
        readings.iter().any(|r| r["temperature"] == json!(36.5)),
        "readings after the alert too"
    );

    // A recorded frame is the cradle's JPEG, byte for byte.
    let frame_id = frame_list[0]["id"].as_i64().unwrap();
    let res = ann
        .raw(Method::GET, &format!("/api/alert_frame/{frame_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/jpeg");
    let body = res.bytes().await.unwrap();
    assert!(frames.iter().any(|f| f[..] == body[..]));
    assert_eq!(
        t.client()
            .get(&format!("/api/alert_frame/{frame_id}"))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );

    // The clip: H.264 in MP4 with every recorded frame.
    let res = ann
        .raw(Method::GET, &format!("/api/alert_clip/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "video/mp4");
    let mp4 = res.bytes().await.unwrap();
    let probe = ffprobe(&mp4);
    let stream = &probe["streams"][0];
    assert_eq!(stream["codec_name"], "h264");
    assert_eq!(stream["width"], 640);
    let counted: usize = stream["nb_read_frames"].as_str().unwrap().parse().unwrap();
    assert_eq!(counted, frame_list.len());
    let duration: f64 = probe["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let span = (times.last().unwrap() - times[0]) as f64 / 1000.0;
    assert!(
        (duration - span).abs() < 0.5,
        "duration {duration} vs recorded span {span}"
    );

    // Seeking works: ranges are served.
    let res = ann
        .raw(Method::GET, &format!("/api/alert_clip/{id}"))
        .header("range", "bytes=0-99")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(res.bytes().await.unwrap().len(), 100);

    // The same frames by minute through /api/video.
    let first = frame_list[0]["timestamp"].as_str().unwrap();
    let (date, time) = (&first[..10], &first[11..16]);
    let res = ann
        .raw(
            Method::GET,
            &format!("/api/video/c1?date={date}&time={time}:00"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let probe = ffprobe(&res.bytes().await.unwrap());
    assert_eq!(probe["streams"][0]["codec_name"], "h264");
    assert_eq!(
        ann.get("/api/video/c1?date=2001-01-01&time=00:00:00")
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        ann.get("/api/video/c1?date=yesterday&time=00:00:00")
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        ann.get("/api/video/c1?date=2001-01-01").await.0,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn settings_round_trip_with_partial_updates_and_named_errors() {
    let (_t, ann, _cradle) = setup().await;
    let (s, defaults) = ann.get("/api/alert_settings/c1").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        defaults,
        json!({"max_temperature": 38.0, "abnormal_position_timeout": 30, "crying_duration_threshold": 30,
               "push_notifications_enabled": true, "email_notifications_enabled": false,
               "offline_alert_enabled": true, "offline_after": 60,
               "camera_silent_alert_enabled": true, "camera_silent_after": 60,
               "sensor_fault_alert_enabled": true, "max_rock_minutes": 15,
               "soothing_enabled": false, "soothe_after": 20, "soothe_minutes": 5})
    );
    // The app sends back what it got plus extras.
    let mut body = defaults.clone();
    body["max_temperature"] = json!(37.2);
    body["agent_uuid"] = json!("c1");
    let (s, res) = ann.post("/api/alert_settings/c1", body).await;
    assert_eq!((s, res["success"].clone()), (StatusCode::OK, json!(true)));
    let (s, _) = ann
        .post(
            "/api/alert_settings/c1",
            json!({"crying_duration_threshold": 12}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, now) = ann.get("/api/alert_settings/c1").await;
    assert_eq!(now["max_temperature"], json!(37.2));
    assert_eq!(now["crying_duration_threshold"], 12);

    for (bad, field) in [
        (json!({"max_temperature": 46}), "max_temperature"),
        (
            json!({"abnormal_position_timeout": -5}),
            "abnormal_position_timeout",
        ),
        (
            json!({"push_notifications_enabled": "no"}),
            "push_notifications_enabled",
        ),
        (json!({"camera_silent_after": 3601}), "camera_silent_after"),
        (json!({"max_rock_minutes": 0}), "max_rock_minutes"),
        (json!({"max_rock_minutes": 61}), "max_rock_minutes"),
        (json!({"soothe_minutes": 1.5}), "soothe_minutes"),
        (json!({"soothing_enabled": 1}), "soothing_enabled"),
    ] {
        let (s, body) = ann.post("/api/alert_settings/c1", bad).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(body["message"].as_str().unwrap().contains(field), "{body}");
    }
    let (_, unchanged) = ann.get("/api/alert_settings/c1").await;
    assert_eq!(unchanged, now);

    let (s, body) = ann
        .post(
            "/api/push_subscription",
            // A real push service's address and a browser's keys (RFC 8291's example).
            json!({"endpoint": "https://fcm.googleapis.com/fcm/send/abc", "keys": {
                "p256dh": "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
                "auth": "BTBZMqHH6r4Tts7J_aSIgg"}}),
        )
        .await;
    assert_eq!((s, body), (StatusCode::OK, json!({"success": true})));
    assert_eq!(
        ann.post("/api/push_subscription", json!({"endpoint": "https://x"}))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn the_event_stream_sends_a_snapshot_then_changes_and_alerts() {
    let (t, ann, cradle) = setup().await;
    let mut events = ann.events().await;
    let (name, snap) = events.next_any(Duration::from_secs(10)).await;
    assert_eq!(name, "snapshot");
    assert_eq!(snap["cradles"][0]["uuid"], "c1");
    assert_eq!(snap["unresolved_alerts"], json!([]));

    cradle
        .publish("temperature", r#"{"temperature": "40.1"}"#)
        .await;
    let (mut saw_status, mut alert) = (false, None);
    while !saw_status || alert.is_none() {
        let (name, data) = events.next_any(Duration::from_secs(10)).await;
        match name.as_str() {
            "status" => saw_status |= data["status"]["temperature"] == json!(40.1),
            "alert" => alert = Some(data),
            _ => {}
        }
    }
    let alert = alert.unwrap();
    assert_eq!(alert["alert_type"], "high_temperature");
    assert_eq!(
        alert["notification_sent"], true,
        "a screen of the owner was listening"
    );
    let id = alert["id"].as_i64().unwrap();
    ann.post(&format!("/api/alert_logs/{id}/resolve"), json!({}))
        .await;
    let resolved = events.next("alert_resolved", Duration::from_secs(10)).await;
    assert_eq!(resolved["id"], id);
    assert_eq!(
        t.client().get("/api/events").await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn retention_deletes_oldest_recordings_first_at_the_size_cap() {
    let (t, ann, cradle) = setup().await;
    let frame = fixture_frame(0);
    for _ in 0..5 {
        cradle.frame(&frame).await;
    }
    ann.wait_for("/api/agent_status/c1", |b| b["last_frame_time"].is_string())
        .await;
    cradle
        .publish("temperature", r#"{"temperature": "39.9"}"#)
        .await;
    let id = alerts_of(&ann, 1).await[0]["id"].as_i64().unwrap();
    for _ in 0..10 {
        cradle.frame(&frame).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cradle
        .publish("temperature", r#"{"temperature": "36.0"}"#)
        .await;
    ann.wait_for("/api/agent_status/c1", |b| b["temperature"] == 36.0)
        .await;
    t.hub.state.store.flush().await.unwrap();
    let total = ann.get(&format!("/api/alert_detail/{id}")).await.1["total_frames"]
        .as_u64()
        .unwrap() as i64;
    assert!(total >= 10);

    // Room for 3 frames: the newest 3 stay.
    let policy = cradle_hub::retention::Retention {
        days: 30,
        max_recording_bytes: 3 * frame.len() as i64,
    };
    let swept = cradle_hub::retention::sweep(
        &t.hub.state.store,
        policy,
        cradle_hub::timefmt::now_millis(),
    )
    .await
    .unwrap();
    assert_eq!(swept.capped_frames as i64, total - 3);
    let (_, detail) = ann.get(&format!("/api/alert_detail/{id}")).await;
    assert_eq!(detail["total_frames"], 3);
    // The alert itself stays, and its readings.
    assert_eq!(detail["alert"]["id"], id);

    // Past the retention period everything goes.
    let far_future = cradle_hub::timefmt::now_millis() + 31 * 86_400_000;
    let policy = cradle_hub::retention::Retention {
        days: 30,
        max_recording_bytes: i64::MAX,
    };
    let swept = cradle_hub::retention::sweep(&t.hub.state.store, policy, far_future)
        .await
        .unwrap();
    assert!(
        swept.readings > 0 && swept.alerts == 1 && swept.expired_frames == 3,
        "{swept:?}"
    );
    assert_eq!(ann.get("/api/alert_logs").await.1, json!([]));
}
