//! External-broker mode against a real Mosquitto (Debian's `mosquitto`
//! package; `scripts/test.sh` and `.ci/run` install it).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::common::{Cradle, TestHub, external, free_port};

fn mosquitto_bin() -> &'static str {
    if Path::new("/usr/sbin/mosquitto").exists() {
        "/usr/sbin/mosquitto"
    } else {
        "mosquitto"
    }
}

pub(crate) struct Mosquitto {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Mosquitto {
    pub(crate) async fn start(port: u16) -> Mosquitto {
        Mosquitto::start_with(port, "allow_anonymous true\n").await
    }

    /// `extra`: more lines of mosquitto.conf.
    async fn start_with(port: u16, extra: &str) -> Mosquitto {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!("listener {port} 127.0.0.1\npersistence false\n{extra}"),
        )
        .unwrap();
        let child = spawn(&conf, port).await;
        Mosquitto { child, port, dir }
    }

    async fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.child = spawn(&self.dir.path().join("mosquitto.conf"), self.port).await;
    }
}

async fn spawn(conf: &Path, port: u16) -> Child {
    let child = Command::new(mosquitto_bin())
        .arg("-c")
        .arg(conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mosquitto runs (apt-get install mosquitto; scripts/test.sh does it)");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "mosquitto did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn works_through_mosquitto_and_survives_its_restart() {
    let port = free_port();
    let mut broker = Mosquitto::start(port).await;
    let t = TestHub::start_with(|s| s.mqtt = external("127.0.0.1", port)).await;
    assert!(
        t.hub.mqtt_addr.is_none(),
        "no MQTT endpoint of its own in external mode"
    );
    assert!(t.hub.state.mqtt.is_up());
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;

    let mut cradle = Cradle::connect(port, "c1").await;
    cradle
        .publish("temperature", r#"{"temperature": "36.6"}"#)
        .await;
    cradle.frame(&crate::common::fixture_frame(0)).await;
    ann.wait_for("/api/agent_status/c1", |b| {
        b["temperature"] == 36.6 && b["last_frame_time"].is_string()
    })
    .await;
    let (s, _) = ann
        .post("/control_motor/c1", json!({"action": "start"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let servo = tokio::time::timeout(Duration::from_secs(5), cradle.servo.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(servo, json!({"action": "start"}));

    broker.restart().await;
    // The hub reconnects and resubscribes by itself.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !t.hub.state.mqtt.is_up() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "hub did not reconnect"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let cradle = Cradle::connect(port, "c1").await;
    cradle
        .publish("temperature", r#"{"temperature": "37.2"}"#)
        .await;
    ann.wait_for("/api/agent_status/c1", |b| b["temperature"] == 37.2)
        .await;
    let (_, health) = t.client().get("/health").await;
    assert!(health["mqtt_reconnects"].as_u64().unwrap() >= 1);
    assert_eq!(health["tasks"]["mqtt"]["alive"], true, "{health}");
    // Shutdown stops the broker client's task too.
    let tasks = t.hub.tasks().clone();
    t.hub.shutdown().await;
    assert!(
        tasks.health().iter().all(|h| !h.is_alive()),
        "every task stopped, the MQTT client's included"
    );
    drop(broker);
}

/// Home Assistant's Mosquitto add-on, like most secured brokers, refuses
/// anonymous clients: the hub logs in with --mqtt-username/--mqtt-password.
#[tokio::test]
async fn logs_in_to_a_broker_that_refuses_anonymous_clients() {
    let port = free_port();
    let secrets = tempfile::tempdir().unwrap();
    let passwords = secrets.path().join("passwords");
    let status = Command::new("mosquitto_passwd")
        .args(["-b", "-c"])
        .arg(&passwords)
        .args(["cradle-hub", "broker-pass"])
        .status()
        .expect("mosquitto_passwd runs (Debian's mosquitto package)");
    assert!(status.success());
    let conf = format!(
        "allow_anonymous false\npassword_file {}\n",
        passwords.display()
    );
    let _broker = Mosquitto::start_with(port, &conf).await;

    let login = |password: &str| {
        let password = password.to_owned();
        move |s: &mut cradle_hub::config::Settings| {
            s.mqtt = external("127.0.0.1", port);
            s.mqtt_login = Some(cradle_hub::config::BrokerLogin {
                username: "cradle-hub".into(),
                password: Some(password),
            });
        }
    };
    let good = TestHub::start_with(login("broker-pass")).await;
    let wrong = TestHub::start_with(login("not-the-password")).await;
    let anonymous = TestHub::start_with(|s| s.mqtt = external("127.0.0.1", port)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !good.hub.state.mqtt.is_up() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the hub did not log in to the broker"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for refused in [&wrong, &anonymous] {
        let (_, health) = refused.client().get("/health").await;
        assert_eq!(health["mqtt"], "disconnected", "{health}");
    }
}

#[tokio::test]
async fn without_a_broker_motor_commands_fail_clearly_and_health_says_so() {
    let port = free_port();
    let t = TestHub::start_with(|s| s.mqtt = external("127.0.0.1", port)).await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;
    let (s, body) = ann
        .post("/control_motor/c1", json!({"action": "start"}))
        .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(body["success"], false, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("not connected")),
        "{body}"
    );
    let (s, health) = t.client().get("/health").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{health}");
    assert_eq!(health["mqtt"], "disconnected", "{health}");
    assert_eq!(health["database"], "ok", "{health}");
}
