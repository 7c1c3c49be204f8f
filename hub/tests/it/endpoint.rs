//! The hub's own MQTT endpoint, driven by real clients over real sockets:
//! paho-mqtt (the firmware's library, both callback APIs), Mosquitto's
//! command-line clients, rumqttc, and hand-written packets for the cases no
//! polite client produces.

use std::process::Stdio;
use std::time::Duration;

use bytes::BytesMut;
use reqwest::StatusCode;
use rumqttc::{
    ConnAck, Connect, ConnectReturnCode, Packet, PubAck, PubComp, PubRec, PubRel, Publish, QoS,
    Subscribe, SubscribeReasonCode,
};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::Command;

use crate::common::{Cradle, TestHub, fixture_frame, free_port};

const WAIT: Duration = Duration::from_secs(10);

/// An MQTT client written packet by packet with rumqttc's codec.
pub struct Raw {
    stream: TcpStream,
    buf: BytesMut,
}

impl Raw {
    pub async fn open(port: u16) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("tcp connect");
        Raw {
            stream,
            buf: BytesMut::new(),
        }
    }

    /// Connects and returns the CONNACK's code.
    pub async fn connect(port: u16, connect: Connect) -> (Raw, ConnectReturnCode) {
        let mut raw = Raw::open(port).await;
        raw.send(Packet::Connect(connect)).await;
        match raw.recv().await {
            Some(Packet::ConnAck(ConnAck { code, .. })) => (raw, code),
            other => panic!("expected CONNACK, got {other:?}"),
        }
    }

    pub async fn anonymous(port: u16, client_id: &str) -> Raw {
        let (raw, code) = Raw::connect(port, Connect::new(client_id)).await;
        assert_eq!(code, ConnectReturnCode::Success);
        raw
    }

    pub async fn send(&mut self, packet: Packet) {
        let mut out = BytesMut::new();
        packet.write(&mut out, usize::MAX).expect("encode");
        self.send_bytes(&out).await;
    }

    pub async fn send_bytes(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// The next packet, or `None` once the hub closed the connection.
    pub async fn recv(&mut self) -> Option<Packet> {
        tokio::time::timeout(WAIT, async {
            loop {
                match Packet::read(&mut self.buf, 16 * 1024 * 1024) {
                    Ok(p) => return Some(p),
                    Err(rumqttc::Error::InsufficientBytes(_)) => {}
                    Err(e) => panic!("bad packet from the hub: {e}"),
                }
                match self.stream.read_buf(&mut self.buf).await {
                    Ok(0) | Err(_) => return None,
                    Ok(_) => {}
                }
            }
        })
        .await
        .expect("the hub answered in time")
    }

    /// Waits until the hub closes the connection, skipping packets.
    pub async fn closed(&mut self) {
        while self.recv().await.is_some() {}
    }

    pub async fn subscribe(&mut self, filter: &str, pkid: u16) -> SubscribeReasonCode {
        let mut sub = Subscribe::new(filter, QoS::AtLeastOnce);
        sub.pkid = pkid;
        self.send(Packet::Subscribe(sub)).await;
        match self.recv().await {
            Some(Packet::SubAck(ack)) => ack.return_codes[0],
            other => panic!("expected SUBACK, got {other:?}"),
        }
    }

    pub async fn publish(&mut self, topic: &str, payload: &str, qos: QoS, pkid: u16) {
        let mut p = Publish::new(topic, qos, payload.as_bytes().to_vec());
        p.pkid = pkid;
        self.send(Packet::Publish(p)).await;
    }
}

async fn health(t: &TestHub) -> Value {
    t.client().get("/health").await.1
}

fn count(health: &Value, group: &str, key: &str) -> u64 {
    health["mqtt_endpoint"][group][key].as_u64().unwrap_or(0)
}

/// Polls `/health` until `check` holds.
async fn wait_health(t: &TestHub, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let h = health(t).await;
        if check(&h) {
            return h;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "health never matched: {h}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn frame_file() -> String {
    format!("{}/tests/fixtures/frame-0.jpg", env!("CARGO_MANIFEST_DIR"))
}

/// Follows the paho script's JSON lines.
struct Paho {
    child: tokio::process::Child,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl Paho {
    fn start(port: u16, uuid: &str, api: u8, extra: &[&str]) -> Paho {
        let script = format!("{}/tests/paho/cradle.py", env!("CARGO_MANIFEST_DIR"));
        let mut child = Command::new("python3")
            .arg(script)
            .args(["--port", &port.to_string(), "--uuid", uuid])
            .args(["--api", &api.to_string()])
            .args(extra)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 with paho-mqtt (scripts/test.sh installs it)");
        let stdout = child.stdout.take().expect("stdout");
        Paho {
            child,
            lines: BufReader::new(stdout).lines(),
        }
    }

    async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(WAIT, self.lines.next_line())
            .await
            .expect("paho client spoke in time")
            .expect("read paho output")
            .expect("paho client still running");
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"))
    }

    async fn until(&mut self, event: &str) -> Value {
        loop {
            let v = self.next().await;
            if v["event"] == event {
                return v;
            }
            assert!(v["event"] != "error", "paho client failed: {v}");
        }
    }
}

#[tokio::test]
async fn paho_firmware_streams_and_is_rocked_with_either_callback_api() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    for api in [1u8, 2] {
        let uuid = format!("paho-{api}");
        t.cradle_for(&mut ann, &uuid).await;
        let frame = frame_file();
        let mut paho = Paho::start(
            t.mqtt_port(),
            &uuid,
            api,
            &["--frame", &frame, "--seconds", "3"],
        );
        let sub = paho.until("subscribed").await;
        assert_eq!(sub["granted"], json!([0]), "servo topic granted at QoS 0");
        let path = format!("/api/agent_status/{uuid}");
        let status = ann
            .wait_for(&path, |b| {
                b["temperature"] == 36.9 && b["last_frame_time"].is_string() && b["online"] == true
            })
            .await;
        assert_eq!(status["connection"]["state"], "connected");
        assert_eq!(status["crying"], "Not Crying");
        assert_eq!(status["face_direction"], "정면 유지 중");

        let (s, body) = ann
            .post(
                &format!("/control_motor/{uuid}"),
                json!({"action": "start"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let servo = paho.until("servo").await;
        assert_eq!(servo["payload"], json!({"action": "start"}));
        assert_eq!(servo["topic"], format!("cradle/{uuid}/servo"));

        paho.until("done").await;
        let status = ann.wait_for(&path, |b| b["online"] == false).await;
        assert_eq!(status["connection"]["state"], "disconnected");
        assert_eq!(status["connection"]["reason"], "disconnect");
        assert!(status["last_seen"].is_string());
        let _ = paho.child.wait().await;
    }
}

#[tokio::test]
async fn anonymous_mosquitto_clients_see_nothing_and_rock_nothing() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;
    let mut cradle = t.cradle("c1").await;
    let port = t.mqtt_port().to_string();

    // Someone on the LAN tries to watch every cradle while c1 streams.
    let snoop = |filter: &'static str| {
        Command::new("mosquitto_sub")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-t",
                filter,
                "-C",
                "1",
                "-W",
                "2",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto_sub (Debian's mosquitto-clients)")
    };
    let frames_snoop = snoop("cradle/+/frame");
    let all_snoop = snoop("#");
    for _ in 0..20 {
        cradle.frame(&fixture_frame(0)).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for snoop in [frames_snoop, all_snoop] {
        let out = snoop.wait_with_output().await.expect("mosquitto_sub ran");
        assert!(out.stdout.is_empty(), "a snoop received: {:?}", out.stdout);
    }

    // And tries to rock it.
    let status = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &port, "-q", "1"])
        .args(["-t", "cradle/c1/servo", "-m", r#"{"action": "start"}"#])
        .status()
        .await
        .expect("mosquitto_pub");
    assert!(status.success());
    let h = wait_health(&t, |h| count(h, "refused", "servo_publish") >= 1).await;
    assert_eq!(count(&h, "refused", "wildcard"), 2, "{h}");
    assert!(
        tokio::time::timeout(Duration::from_millis(500), cradle.servo.recv())
            .await
            .is_err(),
        "no servo command reached the cradle"
    );
}

#[tokio::test]
async fn a_connection_acts_only_for_its_own_cradle() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    let mut bob = t.user("bob").await;
    t.cradle_for(&mut ann, "a").await;
    t.cradle_for(&mut bob, "b").await;
    let mut cradle_b = t.cradle("b").await;

    // Bound to "a" by its servo subscription, as firmware does.
    let mut a = Raw::anonymous(t.mqtt_port(), "cradle-a").await;
    assert_eq!(
        a.subscribe("cradle/a/servo", 1).await,
        SubscribeReasonCode::Success(QoS::AtLeastOnce)
    );
    assert_eq!(
        a.subscribe("cradle/b/servo", 2).await,
        SubscribeReasonCode::Failure
    );
    a.publish(
        "cradle/b/temperature",
        r#"{"temperature": "50"}"#,
        QoS::AtLeastOnce,
        3,
    )
    .await;
    assert!(matches!(
        a.recv().await,
        Some(Packet::PubAck(PubAck { pkid: 3 }))
    ));
    a.publish(
        "cradle/a/temperature",
        r#"{"temperature": "36.1"}"#,
        QoS::AtLeastOnce,
        4,
    )
    .await;
    assert!(matches!(
        a.recv().await,
        Some(Packet::PubAck(PubAck { pkid: 4 }))
    ));
    ann.wait_for("/api/agent_status/a", |b| b["temperature"] == 36.1)
        .await;
    let (_, b_status) = bob.get("/api/agent_status/b").await;
    assert_eq!(
        b_status["temperature"],
        Value::Null,
        "b's data was not faked"
    );
    let h = health(&t).await;
    assert_eq!(count(&h, "refused", "other_cradle"), 2, "{h}");

    // Bob's command reaches b only; ann's reaches a only.
    let (s, _) = bob
        .post("/control_motor/b", json!({"action": "start"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        tokio::time::timeout(WAIT, cradle_b.servo.recv())
            .await
            .unwrap(),
        Some(json!({"action": "start"}))
    );
    let (s, _) = ann
        .post("/control_motor/a", json!({"action": "stop"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    match a.recv().await {
        Some(Packet::Publish(p)) => {
            assert_eq!(p.topic, "cradle/a/servo");
            assert_eq!(p.qos, QoS::AtLeastOnce);
            a.send(Packet::PubAck(PubAck::new(p.pkid))).await;
        }
        other => panic!("expected the servo command, got {other:?}"),
    }
    assert!(
        tokio::time::timeout(Duration::from_millis(300), cradle_b.servo.recv())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_motor_command_to_a_cradle_that_is_not_connected_fails_clearly() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;
    let (s, body) = ann
        .post("/control_motor/c1", json!({"action": "start"}))
        .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["success"], false);
    assert!(
        body["message"].as_str().unwrap().contains("not connected"),
        "{body}"
    );
}

async fn stored_temperatures(t: &TestHub, value: f64) -> i64 {
    t.hub
        .state
        .store
        .read(move |db| {
            db.query_row(
                "SELECT count(*) FROM sensor_data WHERE temperature = ?1",
                [value],
                |r| r.get::<_, i64>(0),
            )
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn qos1_is_acknowledged_after_commit_and_qos2_is_taken_once() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;
    let mut c = Raw::anonymous(t.mqtt_port(), "c1-raw").await;
    c.publish(
        "cradle/c1/temperature",
        r#"{"temperature": "36.4"}"#,
        QoS::AtLeastOnce,
        7,
    )
    .await;
    assert!(matches!(
        c.recv().await,
        Some(Packet::PubAck(PubAck { pkid: 7 }))
    ));
    // Acknowledged means committed: readable at once, no flush needed.
    let stored = stored_temperatures(&t, 36.4).await;
    assert_eq!(stored, 1);

    // QoS 2: PUBREC, a duplicate is not stored twice, PUBREL -> PUBCOMP.
    let body = r#"{"temperature": "36.5"}"#;
    c.publish("cradle/c1/temperature", body, QoS::ExactlyOnce, 9)
        .await;
    assert!(matches!(
        c.recv().await,
        Some(Packet::PubRec(PubRec { pkid: 9 }))
    ));
    let mut dup = Publish::new(
        "cradle/c1/temperature",
        QoS::ExactlyOnce,
        body.as_bytes().to_vec(),
    );
    dup.pkid = 9;
    dup.dup = true;
    c.send(Packet::Publish(dup)).await;
    assert!(matches!(
        c.recv().await,
        Some(Packet::PubRec(PubRec { pkid: 9 }))
    ));
    c.send(Packet::PubRel(PubRel::new(9))).await;
    assert!(matches!(
        c.recv().await,
        Some(Packet::PubComp(PubComp { pkid: 9 }))
    ));
    t.hub.state.store.flush().await.unwrap();
    let stored = stored_temperatures(&t, 36.5).await;
    assert_eq!(stored, 1, "exactly once");

    // PINGREQ, then a clean DISCONNECT.
    c.send(Packet::PingReq).await;
    assert_eq!(c.recv().await, Some(Packet::PingResp));
    c.send(Packet::Disconnect).await;
    c.closed().await;
}

#[tokio::test]
async fn connect_is_refused_with_the_right_return_code() {
    let t = TestHub::start().await;
    let port = t.mqtt_port();

    // MQTT 3.1 ("MQIsdp", level 3): unacceptable protocol version.
    let mut v31 = Raw::open(port).await;
    let mut connect = vec![0x10, 0];
    connect.extend([0, 6]);
    connect.extend(b"MQIsdp");
    connect.extend([3, 0x02, 0, 60, 0, 3]);
    connect.extend(b"old");
    connect[1] = (connect.len() - 2) as u8;
    v31.send_bytes(&connect).await;
    assert_eq!(
        v31.recv().await,
        Some(Packet::ConnAck(ConnAck::new(
            ConnectReturnCode::RefusedProtocolVersion,
            false
        )))
    );
    v31.closed().await;

    // An empty client id is fine for a clean session (paho sends one), not
    // for a persistent one.
    let (_ok, code) = Raw::connect(port, Connect::new("")).await;
    assert_eq!(code, ConnectReturnCode::Success);
    let mut persistent = Connect::new("");
    persistent.clean_session = false;
    let (_, code) = Raw::connect(port, persistent).await;
    assert_eq!(code, ConnectReturnCode::BadClientId);

    // A packet before CONNECT closes the connection.
    let mut early = Raw::open(port).await;
    early.send(Packet::PingReq).await;
    early.closed().await;
}

#[tokio::test]
async fn keepalive_expiry_and_takeover_close_the_old_connection() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;

    let mut quiet = Connect::new("quiet");
    quiet.keep_alive = 1;
    let (mut quiet, _) = Raw::connect(t.mqtt_port(), quiet).await;
    quiet.subscribe("cradle/c1/servo", 1).await;
    ann.wait_for("/api/agent_status/c1", |b| b["online"] == true)
        .await;
    // Silent for 1.5 x 1 s: closed.
    let started = std::time::Instant::now();
    quiet.closed().await;
    assert!(started.elapsed() >= Duration::from_millis(1400));
    let status = ann
        .wait_for("/api/agent_status/c1", |b| b["online"] == false)
        .await;
    assert_eq!(status["connection"]["reason"], "keepalive_expired");

    let mut first = Raw::anonymous(t.mqtt_port(), "same-id").await;
    let _second = Raw::anonymous(t.mqtt_port(), "same-id").await;
    first.closed().await;
    let h = wait_health(&t, |h| count(h, "closed", "takeover") == 1).await;
    assert_eq!(h["mqtt_endpoint"]["connections"], 1, "{h}");
}

/// A will (paho sets one on some firmware builds) is accepted, and the
/// connection ending without DISCONNECT counts as lost.
#[tokio::test]
async fn a_will_is_accepted_and_an_unclean_end_counts_as_lost() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;
    let mut with_will = Connect::new("with-will");
    with_will.last_will = Some(rumqttc::LastWill::new(
        "cradle/c1/status",
        "gone",
        QoS::AtLeastOnce,
        false,
    ));
    let (mut conn, code) = Raw::connect(t.mqtt_port(), with_will).await;
    assert_eq!(code, ConnectReturnCode::Success);
    conn.subscribe("cradle/c1/servo", 1).await;
    ann.wait_for("/api/agent_status/c1", |b| b["online"] == true)
        .await;
    drop(conn);
    let status = ann
        .wait_for("/api/agent_status/c1", |b| b["online"] == false)
        .await;
    let reason = status["connection"]["reason"].as_str().unwrap_or("");
    assert!(
        !reason.is_empty() && reason != "disconnect",
        "lost, not a clean goodbye: {status}"
    );
}

#[tokio::test]
async fn bad_packets_close_only_their_own_connection() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;
    let good = Cradle::connect(t.mqtt_port(), "c1").await;

    // A PUBLISH announcing 8 MB: far above the limit, refused before it is read.
    let mut huge = Raw::anonymous(t.mqtt_port(), "huge").await;
    huge.send_bytes(&[0x30, 0x80, 0x80, 0x80, 0x04]).await;
    huge.closed().await;
    // Garbage: a reserved packet type.
    let mut garbage = Raw::anonymous(t.mqtt_port(), "garbage").await;
    garbage.send_bytes(&[0xF0, 0x00]).await;
    garbage.closed().await;
    // A remaining length that never ends.
    let mut endless = Raw::anonymous(t.mqtt_port(), "endless").await;
    endless
        .send_bytes(&[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        .await;
    endless.closed().await;
    // Half a packet, then the socket closes.
    let mut truncated = Raw::anonymous(t.mqtt_port(), "truncated").await;
    truncated.send_bytes(&[0x30, 0x40, 0x00, 0x10, b'c']).await;
    drop(truncated);

    let h = wait_health(&t, |h| {
        count(h, "closed", "oversized_packet") == 1 && count(h, "closed", "protocol_error") == 3
    })
    .await;
    assert_eq!(h["status"], "ok");
    good.publish("temperature", r#"{"temperature": "36.3"}"#)
        .await;
    ann.wait_for("/api/agent_status/c1", |b| b["temperature"] == 36.3)
        .await;
}

#[tokio::test]
async fn a_cradle_password_locks_out_anonymous_connections() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;
    let mut old = Raw::anonymous(t.mqtt_port(), "old-firmware").await;
    old.subscribe("cradle/c1/servo", 1).await;

    let (s, _) = t
        .client()
        .post("/api/cradles/c1/mqtt_password", json!({"required": true}))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, body) = ann
        .post("/api/cradles/c1/mqtt_password", json!({"required": true}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let password = body["password"].as_str().unwrap().to_owned();
    assert!(password.len() >= 20);
    assert_eq!(body["username"], "c1");
    assert_eq!(
        ann.get("/api/cradles/c1/mqtt_password").await.1,
        json!({"required": true, "username": "c1"})
    );
    // The anonymous connection acting for c1 is closed.
    old.closed().await;
    let stored: Option<String> = t
        .hub
        .state
        .store
        .read(|db| {
            db.query_row(
                "SELECT mqtt_password_hash FROM agents WHERE uuid = 'c1'",
                [],
                |r| r.get(0),
            )
        })
        .await
        .unwrap();
    assert!(
        stored.unwrap().starts_with("$argon2"),
        "only a hash is kept"
    );

    let mut anon = Raw::anonymous(t.mqtt_port(), "anon").await;
    assert_eq!(
        anon.subscribe("cradle/c1/servo", 1).await,
        SubscribeReasonCode::Failure
    );
    let mut wrong = Connect::new("wrong");
    wrong.set_login("c1", "not-it");
    assert_eq!(
        Raw::connect(t.mqtt_port(), wrong).await.1,
        ConnectReturnCode::BadUserNamePassword
    );
    let mut missing = Connect::new("missing");
    missing.set_login("c1", "");
    assert_eq!(
        Raw::connect(t.mqtt_port(), missing).await.1,
        ConnectReturnCode::NotAuthorized
    );

    // The firmware that knows the password works, paho included.
    let mut paho = Paho::start(
        t.mqtt_port(),
        "c1",
        1,
        &[
            "--seconds",
            "2",
            "--username",
            "c1",
            "--password",
            &password,
        ],
    );
    paho.until("subscribed").await;
    ann.wait_for("/api/agent_status/c1", |b| b["temperature"] == 36.9)
        .await;
    let (s, _) = ann
        .post("/control_motor/c1", json!({"action": "start"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        paho.until("servo").await["payload"],
        json!({"action": "start"})
    );
    paho.until("done").await;

    // Turned off: anonymous firmware works again.
    let (s, _) = ann
        .post("/api/cradles/c1/mqtt_password", json!({"required": false}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let mut again = Raw::anonymous(t.mqtt_port(), "again").await;
    assert_eq!(
        again.subscribe("cradle/c1/servo", 1).await,
        SubscribeReasonCode::Success(QoS::AtLeastOnce)
    );
    let h = health(&t).await;
    assert!(count(&h, "refused", "password_required") >= 1, "{h}");
}

#[tokio::test]
async fn a_thousand_connections_come_and_go_without_a_trace() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;
    let port = t.mqtt_port();
    let fds = || {
        std::fs::read_dir("/proc/self/fd")
            .map(|d| d.count())
            .unwrap_or(0)
    };
    let before = fds();
    let mut rounds = tokio::task::JoinSet::new();
    for worker in 0..8 {
        rounds.spawn(async move {
            for i in 0..125 {
                let mut c = Raw::anonymous(port, &format!("churn-{worker}-{i}")).await;
                c.publish(
                    "cradle/c1/temperature",
                    r#"{"temperature": "36.0"}"#,
                    QoS::AtLeastOnce,
                    1,
                )
                .await;
                assert!(matches!(c.recv().await, Some(Packet::PubAck(_))));
                c.send(Packet::Disconnect).await;
                c.closed().await;
            }
        });
    }
    while let Some(r) = rounds.join_next().await {
        r.expect("churn worker");
    }
    let h = wait_health(&t, |h| h["mqtt_endpoint"]["connections"] == 0).await;
    assert_eq!(count(&h, "closed", "disconnect"), 1000, "{h}");
    assert_eq!(h["mqtt_endpoint"]["accepted"], 1000);
    // The hub runs in this process: its sockets are this process's fds.
    let after = fds();
    assert!(after <= before + 4, "fds {before} -> {after}");
}

struct HubProcess {
    child: tokio::process::Child,
    http: String,
    mqtt: u16,
}

impl HubProcess {
    async fn start(dir: &std::path::Path) -> HubProcess {
        let (http_port, mqtt) = (free_port(), free_port());
        let child = Command::new(env!("CARGO_BIN_EXE_cradle-hub"))
            .args(["--data-dir", &dir.display().to_string()])
            .args(["--http-addr", &format!("127.0.0.1:{http_port}")])
            .args(["--mqtt-addr", &format!("127.0.0.1:{mqtt}")])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start the hub binary");
        let http = format!("http://127.0.0.1:{http_port}");
        let deadline = tokio::time::Instant::now() + WAIT;
        while reqwest::get(format!("{http}/health")).await.is_err() {
            assert!(tokio::time::Instant::now() < deadline, "hub did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        HubProcess { child, http, mqtt }
    }
}

#[tokio::test]
async fn every_acknowledged_reading_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut hub = HubProcess::start(dir.path()).await;
    let mut ann = crate::common::Client::new(&hub.http);
    ann.signup("ann").await;
    let (s, _) = ann
        .post("/register_agent", json!({"uuid": "c1", "ip": "10.0.0.7"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = ann
        .post("/register_cradle", json!({"cradle_uuid": "c1"}))
        .await;
    assert_eq!(s, StatusCode::OK);

    // Publish QoS 1 readings with a window of 64 in flight; each value names
    // its packet id. Kill the hub once a few thousand are acknowledged.
    let mut c = Raw::anonymous(hub.mqtt, "stream").await;
    let mut acked = Vec::new();
    let mut next: u16 = 1;
    let mut in_flight = 0;
    let value = |pkid: u16| format!("{:.3}", 20.0 + f64::from(pkid) / 1000.0);
    'stream: loop {
        while in_flight < 64 && next < 30_000 {
            let body = format!(r#"{{"temperature": "{}"}}"#, value(next));
            c.publish("cradle/c1/temperature", &body, QoS::AtLeastOnce, next)
                .await;
            next += 1;
            in_flight += 1;
        }
        match c.recv().await {
            Some(Packet::PubAck(PubAck { pkid })) => {
                acked.push(pkid);
                in_flight -= 1;
                if acked.len() == 3_000 {
                    // SIGKILL with ~64 readings still in flight.
                    hub.child.start_kill().expect("kill -9");
                    let _ = hub.child.wait().await;
                    break 'stream;
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    let db = rusqlite::Connection::open(dir.path().join("cradle-hub.sqlite3")).unwrap();
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    drop(db);

    let hub = HubProcess::start(dir.path()).await;
    ann.base = hub.http.clone();
    let (_, rows) = ann
        .get("/api/sensor_data/c1?start_date=2000-01-01T00:00:00Z&end_date=2100-01-01T00:00:00Z")
        .await;
    let stored: std::collections::HashSet<String> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["temperature"].as_f64())
        .map(|t| format!("{t:.3}"))
        .collect();
    let lost: Vec<u16> = acked
        .iter()
        .copied()
        .filter(|p| !stored.contains(&value(*p)))
        .collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged readings lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
}

#[tokio::test]
async fn connections_beyond_the_cap_are_refused_and_the_hub_recovers() {
    use cradle_hub::mqtt::server::MAX_CONNECTIONS;
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;
    let mut held = Vec::with_capacity(MAX_CONNECTIONS);
    for _ in 0..MAX_CONNECTIONS {
        held.push(Raw::open(t.mqtt_port()).await);
    }
    wait_health(&t, |h| {
        h["mqtt_endpoint"]["accepted"] == MAX_CONNECTIONS as u64
    })
    .await;
    let mut extra = Raw::open(t.mqtt_port()).await;
    extra.closed().await;
    let h = health(&t).await;
    assert_eq!(count(&h, "closed", "too_many_connections"), 1, "{h}");
    drop(held);
    // The slots come back as the idle sockets close.
    let cradle = Cradle::connect(t.mqtt_port(), "c1").await;
    cradle
        .publish("temperature", r#"{"temperature": "36.8"}"#)
        .await;
    ann.wait_for("/api/agent_status/c1", |b| b["temperature"] == 36.8)
        .await;
}
