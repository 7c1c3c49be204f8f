//! Home Assistant discovery against a real Mosquitto: a subscriber reads
//! what Home Assistant would (retained configs, states, the camera), and
//! publishes what it would (the rock switch, its birth message).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use reqwest::StatusCode;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::common::{Cradle, TestHub, external, fixture_frame, free_port};
use crate::mosquitto::Mosquitto;

/// A message as a subscriber sees it.
#[derive(Debug)]
struct Seen {
    topic: String,
    payload: Bytes,
    retained: bool,
}

/// Plays Home Assistant's side: subscribes to `filters`, publishes.
struct HomeAssistant {
    client: AsyncClient,
    seen: mpsc::UnboundedReceiver<Seen>,
    /// Arrived while another topic was awaited.
    earlier: Vec<Seen>,
    _connection: tokio::task::JoinHandle<()>,
}

impl HomeAssistant {
    async fn connect(port: u16, filters: &[&str]) -> HomeAssistant {
        let mut options =
            MqttOptions::new(format!("ha-{}", rand::random::<u32>()), "127.0.0.1", port);
        options.set_max_packet_size(4 * 1024 * 1024, 64 * 1024);
        let (client, mut eventloop) = AsyncClient::new(options, 64);
        let (tx, seen) = mpsc::unbounded_channel();
        let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
        let filters: Vec<String> = filters.iter().map(|f| (*f).to_owned()).collect();
        let subscriptions = filters.len();
        let sub = client.clone();
        let connection = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        for f in &filters {
                            let _ = sub.subscribe(f.clone(), QoS::AtLeastOnce).await;
                        }
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        let _ = ready_tx.send(());
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let _ = tx.send(Seen {
                            topic: p.topic,
                            payload: p.payload,
                            retained: p.retain,
                        });
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        for _ in 0..subscriptions {
            tokio::time::timeout(Duration::from_secs(10), ready_rx.recv())
                .await
                .expect("the subscriber connects and subscribes");
        }
        HomeAssistant {
            client,
            seen,
            earlier: Vec::new(),
            _connection: connection,
        }
    }

    /// The first message on `topic` that passes `check`; those on that
    /// topic before it are dropped, the others kept for later calls.
    async fn next_on(&mut self, topic: &str, check: impl Fn(&Seen) -> bool) -> Seen {
        if let Some(i) = self
            .earlier
            .iter()
            .position(|m| m.topic == topic && check(m))
        {
            let m = self.earlier.remove(i);
            let mut n = 0;
            self.earlier.retain(|e| {
                n += 1;
                n > i || e.topic != topic
            });
            return m;
        }
        self.earlier.retain(|e| e.topic != topic);
        let wait = async {
            loop {
                let m = self.seen.recv().await.expect("subscriber connected");
                if m.topic == topic && check(&m) {
                    return m;
                }
                if m.topic != topic {
                    self.earlier.push(m);
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .unwrap_or_else(|_| panic!("nothing matching on {topic} within 10 s"))
    }

    async fn json_on(&mut self, topic: &str) -> Value {
        let m = self.next_on(topic, |m| !m.payload.is_empty()).await;
        serde_json::from_slice(&m.payload).unwrap_or_else(|e| panic!("{topic}: {e}"))
    }

    async fn state(&mut self, topic: &str, expected: &str) {
        self.next_on(topic, |m| m.payload == expected.as_bytes())
            .await;
    }

    async fn publish(&self, topic: &str, retain: bool, payload: &[u8]) {
        self.client
            .publish(topic, QoS::AtLeastOnce, retain, payload.to_vec())
            .await
            .expect("publish queued");
    }
}

fn with_discovery(port: u16) -> impl FnOnce(&mut cradle_hub::config::Settings) {
    move |s| {
        s.mqtt = external("127.0.0.1", port);
        s.ha_discovery = true;
    }
}

const SERVO_WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_claimed_cradle_shows_up_with_states_camera_and_a_stream_link() {
    let port = free_port();
    let _broker = Mosquitto::start(port).await;
    let t = TestHub::start_with(with_discovery(port)).await;
    let mut ha = HomeAssistant::connect(port, &["homeassistant/#", "cradle-hub/#"]).await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;

    ha.state("cradle-hub/status", "online").await;
    let hub = ha
        .json_on("homeassistant/binary_sensor/cradle_hub/broker/config")
        .await;
    assert_eq!(hub["device_class"], "connectivity", "{hub}");
    assert_eq!(hub["state_topic"], "cradle-hub/status");

    let temperature = ha
        .json_on("homeassistant/sensor/c1/temperature/config")
        .await;
    assert_eq!(temperature["device_class"], "temperature");
    assert_eq!(temperature["unit_of_measurement"], "°C");
    assert_eq!(temperature["state_class"], "measurement");
    assert_eq!(temperature["state_topic"], "cradle-hub/c1/temperature");
    assert_eq!(temperature["unique_id"], "cradle_hub_c1_temperature");
    let device = &temperature["device"];
    assert_eq!(device["identifiers"], json!(["cradle_hub_cradle_c1"]));
    assert_eq!(device["name"], "Cradle c1");
    assert_eq!(device["manufacturer"], "Cradle Hub");
    assert_eq!(device["via_device"], "cradle_hub");
    assert_eq!(device["configuration_url"], t.hub.url(), "the hub's UI");
    assert_eq!(
        temperature["availability"],
        json!([
            {"topic": "cradle-hub/status"},
            {"topic": "cradle-hub/c1/online", "payload_available": "online", "payload_not_available": "offline"},
        ])
    );
    assert_eq!(temperature["availability_mode"], "all");
    let crying = ha
        .json_on("homeassistant/binary_sensor/c1/crying/config")
        .await;
    assert_eq!(crying["state_topic"], "cradle-hub/c1/crying");
    assert_eq!(crying["device"], *device, "one device for all entities");
    let face = ha
        .json_on("homeassistant/binary_sensor/c1/face/config")
        .await;
    assert_eq!(face["state_topic"], "cradle-hub/c1/face");
    let online = ha
        .json_on("homeassistant/binary_sensor/c1/online/config")
        .await;
    assert_eq!(online["device_class"], "connectivity");
    let rock = ha.json_on("homeassistant/switch/c1/rock/config").await;
    assert_eq!(rock["command_topic"], "cradle-hub/c1/rock/set");
    let camera = ha.json_on("homeassistant/camera/c1/camera/config").await;
    assert_eq!(camera["topic"], "cradle-hub/c1/camera");
    ha.state("cradle-hub/c1/online", "offline").await;
    ha.state("cradle-hub/c1/rock", "OFF").await;

    // The states follow what the cradle sends.
    let cradle = Cradle::connect(port, "c1").await;
    cradle
        .publish("temperature", r#"{"temperature": "36.6"}"#)
        .await;
    ha.state("cradle-hub/c1/temperature", "36.6").await;
    ha.state("cradle-hub/c1/online", "online").await;
    cradle
        .publish("crying", r#"{"status": "Crying", "probability": 0.9}"#)
        .await;
    ha.state("cradle-hub/c1/crying", "ON").await;
    cradle
        .publish("direction", r#"{"direction": "인식 안됨"}"#)
        .await;
    ha.state("cradle-hub/c1/face", "OFF").await;
    cradle
        .publish("direction", r#"{"direction": "정면 유지 중"}"#)
        .await;
    ha.state("cradle-hub/c1/face", "ON").await;
    cradle
        .publish("temperature", r#"{"temperature": "37.2"}"#)
        .await;
    ha.state("cradle-hub/c1/temperature", "37.2").await;

    // The camera: the cradle's JPEG as is, and the live MJPEG address.
    let jpeg = fixture_frame(0);
    cradle.frame(&jpeg).await;
    let still = ha.next_on("cradle-hub/c1/camera", |_| true).await;
    assert_eq!(still.payload, jpeg, "the frame, unchanged");
    let attributes = ha.json_on("cradle-hub/c1/camera/attributes").await;
    let url = attributes["mjpeg_url"].as_str().expect("a stream link");
    assert!(
        url.starts_with(&format!("{}/stream/c1?token=", t.hub.url())),
        "{url}"
    );
    assert!(
        attributes["mjpeg_url_expires_at"].is_string(),
        "{attributes}"
    );
    let http = reqwest::Client::new();
    let res = http.get(url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "no cookie needed");
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("multipart/x-mixed-replace"),
    );
    drop(res);
    // The link hangs on a session the parent sees, and can end.
    let (_, sessions) = ann.get("/api/sessions").await;
    assert!(
        sessions
            .to_string()
            .contains("Home Assistant (MQTT discovery)"),
        "{sessions}"
    );
    let (s, _) = ann.post("/api/sessions/revoke_others", json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let res = http.get(url).send().await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "signed out: the link is dead"
    );

    let (_, health) = t.client().get("/health").await;
    assert_eq!(health["tasks"]["home-assistant"]["alive"], true, "{health}");

    // A stopped hub says so: every entity becomes unavailable.
    t.hub.shutdown().await;
    ha.state("cradle-hub/status", "offline").await;
}

#[tokio::test]
async fn the_rock_switch_goes_through_the_motor_path_with_its_limits_and_log() {
    let port = free_port();
    let _broker = Mosquitto::start(port).await;
    let t = TestHub::start_with(with_discovery(port)).await;
    let mut ha = HomeAssistant::connect(port, &["cradle-hub/#"]).await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;
    let mut cradle = Cradle::connect(port, "c1").await;
    ha.state("cradle-hub/c1/rock", "OFF").await;

    ha.publish("cradle-hub/c1/rock/set", false, b"ON").await;
    let servo = tokio::time::timeout(SERVO_WAIT, cradle.servo.recv()).await;
    assert_eq!(servo.unwrap().unwrap(), json!({"action": "start"}));
    ha.state("cradle-hub/c1/rock", "ON").await;
    let (_, status) = ann.get("/api/agent_status/c1").await;
    assert_eq!(status["rocking"], true, "{status}");

    ha.publish("cradle-hub/c1/rock/set", false, b"OFF").await;
    let servo = tokio::time::timeout(SERVO_WAIT, cradle.servo.recv()).await;
    assert_eq!(servo.unwrap().unwrap(), json!({"action": "stop"}));
    ha.state("cradle-hub/c1/rock", "OFF").await;

    // A start right after a stop is refused, as from a screen; junk is dropped.
    ha.publish("cradle-hub/c1/rock/set", false, b"ON").await;
    let log = ann
        .wait_for("/api/cradles/c1/motor_log", |b| {
            b["entries"].as_array().is_some_and(|e| e.len() == 3)
        })
        .await;
    let refused = &log["entries"][0];
    assert_eq!(refused["action"], "start");
    assert_eq!(refused["sent"], false);
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("2 s after a stop"),
        "{refused}"
    );
    ha.state("cradle-hub/c1/rock", "OFF").await;
    ha.publish("cradle-hub/c1/rock/set", false, b"banana").await;
    ha.publish("cradle-hub/c1/rock/set", false, br#"{"action": "start"}"#)
        .await;
    ha.publish("cradle-hub/c1/rock/set", false, b"OFF").await;
    let servo = tokio::time::timeout(SERVO_WAIT, cradle.servo.recv()).await;
    assert_eq!(
        servo.unwrap().unwrap(),
        json!({"action": "stop"}),
        "neither the refused start nor the junk reached the cradle"
    );
    let log = ann
        .wait_for("/api/cradles/c1/motor_log", |b| {
            b["entries"].as_array().is_some_and(|e| e.len() == 4)
        })
        .await;
    let entries = log["entries"].as_array().unwrap();
    let summary: Vec<(&str, &str, &str, bool)> = entries
        .iter()
        .rev()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["by"].as_str().unwrap(),
                e["username"].as_str().unwrap(),
                e["sent"].as_bool().unwrap(),
            )
        })
        .collect();
    let ha_user = "Home Assistant (MQTT)";
    assert_eq!(
        summary,
        [
            ("start", "user", ha_user, true),
            ("stop", "user", ha_user, true),
            ("start", "user", ha_user, false),
            ("stop", "user", ha_user, true),
        ]
    );

    // A cradle nobody claimed has no switch: its commands go nowhere.
    let mut stranger = Cradle::connect(port, "c2").await;
    ha.publish("cradle-hub/c2/rock/set", false, b"ON").await;
    ha.publish("cradle-hub/c1/rock/set", false, b"OFF").await;
    let servo = tokio::time::timeout(SERVO_WAIT, cradle.servo.recv()).await;
    assert_eq!(servo.unwrap().unwrap(), json!({"action": "stop"}));
    assert!(stranger.servo.try_recv().is_err(), "c2 is not rocked");
}

#[tokio::test]
async fn home_assistant_birth_republishes_and_an_unclaimed_cradle_is_removed() {
    let port = free_port();
    let _broker = Mosquitto::start(port).await;
    let t = TestHub::start_with(with_discovery(port)).await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;
    let topic = "homeassistant/sensor/c1/temperature/config";
    let mut first = HomeAssistant::connect(port, &[topic]).await;
    first.next_on(topic, |m| !m.payload.is_empty()).await;

    // Home Assistant starting later finds the retained configs.
    let mut ha = HomeAssistant::connect(port, &[topic, "cradle-hub/c1/online"]).await;
    let retained = ha.next_on(topic, |m| !m.payload.is_empty()).await;
    assert!(retained.retained, "configs are retained");
    let online = ha.next_on("cradle-hub/c1/online", |_| true).await;
    assert!(online.retained, "states are retained");
    assert_eq!(online.payload, "offline");

    // Its birth message: everything again.
    ha.publish("homeassistant/status", false, b"online").await;
    let again = ha
        .next_on(topic, |m| !m.retained && !m.payload.is_empty())
        .await;
    let config: Value = serde_json::from_slice(&again.payload).unwrap();
    assert_eq!(config["device_class"], "temperature");
    ha.next_on("cradle-hub/c1/online", |m| !m.retained).await;
    // Its last will changes nothing.
    ha.publish("homeassistant/status", false, b"offline").await;

    // A cradle removed from its account leaves Home Assistant.
    let (s, _) = ann.post("/delete_cradle", json!({"uuid": "c1"})).await;
    assert_eq!(s, StatusCode::OK);
    ha.next_on(topic, |m| m.payload.is_empty()).await;
    let mut late = HomeAssistant::connect(port, &["homeassistant/#"]).await;
    late.publish("homeassistant/status", false, b"online").await;
    let hub_config = late
        .next_on(
            "homeassistant/binary_sensor/cradle_hub/broker/config",
            |m| !m.retained,
        )
        .await;
    assert!(!hub_config.payload.is_empty());
    // Nothing of c1 is published again. A config the hub had not cleared
    // yet when this client subscribed comes from the broker's store, as
    // retained, and its clearing follows.
    let not_yet_cleared: Vec<String> = late
        .earlier
        .iter()
        .filter(|m| m.topic.contains("/c1/") && !m.payload.is_empty())
        .map(|m| {
            assert!(m.retained, "c1 published again on {}", m.topic);
            m.topic.clone()
        })
        .collect();
    for topic in not_yet_cleared {
        late.next_on(&topic, |m| m.payload.is_empty()).await;
    }
}

#[tokio::test]
async fn a_killed_hub_goes_offline_by_its_last_will() {
    let port = free_port();
    let _broker = Mosquitto::start(port).await;
    let mut ha = HomeAssistant::connect(port, &["cradle-hub/status"]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cradle-hub"))
        .args(["--http-addr", "127.0.0.1:0", "--no-mdns", "--ha-discovery"])
        .arg("--mqtt-url")
        .arg(format!("mqtt://127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the hub binary");
    // It prints its address once it serves.
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    ha.state("cradle-hub/status", "online").await;
    child.kill().unwrap();
    child.wait().unwrap();
    ha.state("cradle-hub/status", "offline").await;
}

#[tokio::test]
async fn with_the_hubs_own_endpoint_the_setting_does_nothing() {
    let t = TestHub::start_with(|s| s.ha_discovery = true).await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;
    let cradle = t.cradle("c1").await;
    cradle
        .publish("temperature", r#"{"temperature": "36.6"}"#)
        .await;
    ann.wait_for("/api/agent_status/c1", |b| b["temperature"] == 36.6)
        .await;
    let (s, health) = t.client().get("/health").await;
    assert_eq!(s, StatusCode::OK, "{health}");
    assert!(health["tasks"].get("home-assistant").is_none(), "{health}");
}
