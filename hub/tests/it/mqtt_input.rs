//! Every kind of junk PROTOCOL.md warns about: dropped and counted, and the
//! hub keeps serving valid data afterwards.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cradle_hub::mqtt::parse::DropReason;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::{Cradle, TestHub, fixture_frame};

#[tokio::test]
async fn junk_is_dropped_counted_and_harmless() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;
    let cradle = t.cradle("c1").await;
    let counters = &t.hub.state.ingest.counters;

    let not_jpeg = json!({"frame": STANDARD.encode(b"GIF89a not a jpeg at all")}).to_string();
    let cases: Vec<(&str, Vec<u8>, DropReason)> = vec![
        (
            "cradle/c1/temperature",
            br#"{"temperature": "nan"}"#.to_vec(),
            DropReason::BadTemperature,
        ),
        (
            "cradle/c1/temperature",
            br#"{"temperature": "-"}"#.to_vec(),
            DropReason::BadTemperature,
        ),
        (
            "cradle/c1/temperature",
            br#"{"temperature": 1e308}"#.to_vec(),
            DropReason::BadTemperature,
        ),
        (
            "cradle/c1/temperature",
            b"{not json".to_vec(),
            DropReason::InvalidJson,
        ),
        (
            "cradle/c1/crying",
            b"\xff\xfe\x00".to_vec(),
            DropReason::InvalidJson,
        ),
        (
            "cradle/c1/crying",
            br#"{"probability": 0.5}"#.to_vec(),
            DropReason::MissingField,
        ),
        (
            "cradle/c1/direction",
            br#"[1, 2]"#.to_vec(),
            DropReason::InvalidJson,
        ),
        (
            "cradle/c1/frame",
            br#"{"frame": "%%%not-base64%%%"}"#.to_vec(),
            DropReason::InvalidBase64,
        ),
        (
            "cradle/c1/frame",
            not_jpeg.into_bytes(),
            DropReason::NotJpeg,
        ),
        // Junk under the cradle's own prefix reaches ingest, which drops it.
        (
            "cradle/c1/frame/extra",
            br#"{"frame": ""}"#.to_vec(),
            DropReason::BadTopic,
        ),
        (
            "cradle/c1/unknown_kind",
            b"{}".to_vec(),
            DropReason::BadTopic,
        ),
    ];
    for (topic, payload, _) in &cases {
        cradle.publish_topic(topic, payload.clone()).await;
    }
    // A cradle nobody registered, on a connection of its own (a connection
    // acts for one cradle only).
    let stranger = Cradle::connect(t.mqtt_port(), "never-registered").await;
    stranger
        .publish("temperature", r#"{"temperature": "36.5"}"#)
        .await;
    // A valid reading after the junk still arrives.
    cradle
        .publish("temperature", r#"{"temperature": "36.7"}"#)
        .await;
    ann.wait_for("/api/agent_status/c1", |b| b["temperature"] == 36.7)
        .await;

    for reason in [
        DropReason::BadTemperature,
        DropReason::InvalidJson,
        DropReason::MissingField,
        DropReason::InvalidBase64,
        DropReason::NotJpeg,
        DropReason::BadTopic,
    ] {
        let expected = cases.iter().filter(|(_, _, r)| *r == reason).count() as u64;
        assert_eq!(counters.dropped(reason), expected, "{reason:?}");
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while counters.dropped(DropReason::UnknownCradle) != 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "unknown cradle not counted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, health) = t.client().get("/health").await;
    assert_eq!(health["ingest"]["dropped"]["bad_temperature"], 3);
    assert_eq!(health["status"], "ok");

    // Nothing junk was stored as a reading.
    t.hub.state.store.flush().await.unwrap();
    let (_, rows) = ann
        .get("/api/sensor_data/c1?start_date=2000-01-01T00:00:00Z&end_date=2100-01-01T00:00:00Z")
        .await;
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
}

#[tokio::test]
async fn oversized_messages_are_refused_and_the_hub_carries_on() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;

    // A frame of ~300 KB of base64 (within "a few hundred KB") is accepted.
    let big = Cradle::connect(t.mqtt_port(), "c1").await;
    let mut jpeg = fixture_frame(0);
    // Pad inside the JPEG with a COM segment-free trailer: still SOI...EOI.
    let eoi = jpeg.split_off(jpeg.len() - 2);
    jpeg.extend(std::iter::repeat_n(0u8, 180_000));
    jpeg.extend(eoi);
    big.frame(&jpeg).await;
    ann.wait_for("/api/agent_status/c1", |b| b["last_frame_time"].is_string())
        .await;

    // 4 MB is far above the limit: the hub closes that one connection.
    let huge = Cradle::connect(t.mqtt_port(), "c1").await;
    let payload = json!({"frame": "A".repeat(4 * 1024 * 1024)}).to_string();
    huge.publish("frame", payload).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let normal = Cradle::connect(t.mqtt_port(), "c1").await;
    normal
        .publish("temperature", r#"{"temperature": "36.2"}"#)
        .await;
    ann.wait_for("/api/agent_status/c1", |b| b["temperature"] == 36.2)
        .await;
    let (s, health) = t.client().get("/health").await;
    assert_eq!(
        (s, health["mqtt"].clone()),
        (StatusCode::OK, json!("connected"))
    );
}

#[tokio::test]
async fn a_burst_of_readings_is_stored_without_loss() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;
    let cradle = t.cradle("c1").await;
    const N: usize = 2_000;
    for i in 0..N {
        let temp = 30.0 + (i % 100) as f64 / 10.0;
        cradle
            .publish("temperature", format!(r#"{{"temperature": "{temp:.1}"}}"#))
            .await;
    }
    cradle.publish("crying", r#"{"status": "Crying"}"#).await;
    ann.wait_for("/api/agent_status/c1", |b| b["crying"] == "Crying")
        .await;
    t.hub.state.store.flush().await.unwrap();
    let (_, rows) = ann
        .get("/api/sensor_data/c1?start_date=2000-01-01T00:00:00Z&end_date=2100-01-01T00:00:00Z")
        .await;
    assert_eq!(rows.as_array().unwrap().len(), N + 1);
}
