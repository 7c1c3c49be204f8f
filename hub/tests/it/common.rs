//! Test harness: start a hub, talk HTTP with a cookie, publish over MQTT.

#![allow(dead_code)]

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cradle_hub::config::{MqttMode, Settings};
use cradle_hub::{RunningHub, start};
use reqwest::StatusCode;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{Value, json};
use tokio::sync::mpsc;

pub struct TestHub {
    pub hub: RunningHub,
    pub dir: tempfile::TempDir,
}

impl TestHub {
    pub async fn start() -> TestHub {
        let dir = tempfile::tempdir().expect("temp dir");
        let hub = start(Settings::ephemeral(dir.path()))
            .await
            .expect("hub starts");
        assert!(
            hub.state.mqtt.is_up(),
            "the hub's MQTT endpoint accepts connections"
        );
        TestHub { hub, dir }
    }

    pub async fn start_with(f: impl FnOnce(&mut Settings)) -> TestHub {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut settings = Settings::ephemeral(dir.path());
        f(&mut settings);
        let hub = start(settings).await.expect("hub starts");
        TestHub { hub, dir }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.hub.url())
    }

    pub fn client(&self) -> Client {
        Client::new(&self.hub.url())
    }

    pub fn mqtt_port(&self) -> u16 {
        match self.hub.mqtt_addr {
            Some(a) => a.port(),
            None => panic!("hub has no MQTT endpoint of its own"),
        }
    }

    /// A client already registered and logged in as `name`.
    pub async fn user(&self, name: &str) -> Client {
        let mut c = self.client();
        c.signup(name).await;
        c
    }

    /// Registers the cradle like firmware does and claims it for `owner`.
    pub async fn cradle_for(&self, owner: &mut Client, uuid: &str) {
        claim_cradle(&self.hub.url(), owner, uuid).await;
    }

    pub async fn cradle(&self, uuid: &str) -> Cradle {
        Cradle::connect(self.mqtt_port(), uuid).await
    }
}

pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    pub cookie: Option<String>,
    pub lang: Option<&'static str>,
}

impl Client {
    pub fn new(base: &str) -> Client {
        Client {
            base: base.to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("http client"),
            cookie: None,
            lang: None,
        }
    }

    /// Registers `name` (password "pass-word") and logs in.
    pub async fn signup(&mut self, name: &str) {
        let (s, _) = self
            .post(
                "/register",
                json!({"username": name, "password": "pass-word"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        self.login(name, "pass-word").await;
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self.http.request(method, format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            r = r.header("cookie", c);
        }
        if let Some(l) = self.lang {
            r = r.header("accept-language", l);
        }
        r
    }

    pub async fn send(
        &self,
        r: reqwest::RequestBuilder,
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        let res = r.send().await.expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, body, headers)
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let (s, b, _) = self
            .send(self.req(reqwest::Method::POST, path).json(&body))
            .await;
        (s, b)
    }

    /// GET with `Content-Type: application/json`, as the mobile app sends it.
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (s, b, _) = self
            .send(
                self.req(reqwest::Method::GET, path)
                    .header("content-type", "application/json"),
            )
            .await;
        (s, b)
    }

    /// The same session, as another client (e.g. another language).
    pub fn client_clone(&self) -> Client {
        Client {
            base: self.base.clone(),
            http: self.http.clone(),
            cookie: self.cookie.clone(),
            lang: self.lang,
        }
    }

    pub fn raw(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.req(method, path)
    }

    pub async fn login(&mut self, name: &str, password: &str) {
        let (s, body, headers) = self
            .send(
                self.req(reqwest::Method::POST, "/login")
                    .json(&json!({"username": name, "password": password})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let set_cookie = headers
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .expect("login sets a cookie")
            .to_owned();
        let pair = set_cookie
            .split(';')
            .next()
            .expect("cookie pair")
            .to_owned();
        self.cookie = Some(pair);
    }

    /// Polls until `check` accepts the body (MQTT delivery is asynchronous).
    pub async fn wait_for(&self, path: &str, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let (s, body) = self.get(path).await;
            if s == StatusCode::OK && check(&body) {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting on {path}: {s} {body}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// Registers the cradle like firmware does on the hub at `base`, and claims
/// it for `owner`.
pub async fn claim_cradle(base: &str, owner: &mut Client, uuid: &str) {
    let (s, _) = Client::new(base)
        .post("/register_agent", json!({"uuid": uuid, "ip": "10.0.0.7"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = owner
        .post("/register_cradle", json!({"cradle_uuid": uuid}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

/// A test cradle publishing over real MQTT and listening to its servo topic.
pub struct Cradle {
    pub uuid: String,
    pub client: AsyncClient,
    pub servo: mpsc::UnboundedReceiver<Value>,
    connection: tokio::task::AbortHandle,
}

impl Cradle {
    pub async fn connect(port: u16, uuid: &str) -> Cradle {
        let mut options = MqttOptions::new(
            format!("test-{uuid}-{}", rand::random::<u32>()),
            "127.0.0.1",
            port,
        );
        options.set_max_packet_size(4 * 1024 * 1024, 4 * 1024 * 1024);
        let (client, mut eventloop) = AsyncClient::new(options, 64);
        let (tx, servo) = mpsc::unbounded_channel();
        let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
        let topic = format!("cradle/{uuid}/servo");
        let sub = client.clone();
        let task = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        let _ = sub.subscribe(topic.clone(), QoS::AtMostOnce).await;
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        let _ = ready_tx.send(());
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let v = serde_json::from_slice(&p.payload).unwrap_or(Value::Null);
                        let _ = tx.send(v);
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        tokio::time::timeout(Duration::from_secs(10), ready_rx.recv())
            .await
            .expect("test cradle connects");
        Cradle {
            uuid: uuid.to_owned(),
            client,
            servo,
            connection: task.abort_handle(),
        }
    }

    /// Like a cradle losing power: the connection closes, with no
    /// DISCONNECT and no reconnect.
    pub fn power_off(self) {
        self.connection.abort();
    }

    pub async fn publish(&self, kind: &str, payload: impl Into<Vec<u8>>) {
        self.publish_topic(&format!("cradle/{}/{kind}", self.uuid), payload)
            .await;
    }

    pub async fn publish_topic(&self, topic: &str, payload: impl Into<Vec<u8>>) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload.into())
            .await
            .expect("publish queued");
    }

    pub async fn frame(&self, jpeg: &[u8]) {
        let payload = json!({"frame": STANDARD.encode(jpeg), "timestamp": "2026-01-01 00:00:00"});
        self.publish("frame", payload.to_string()).await;
    }
}

pub fn fixture_frame(n: usize) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/frame-{n}.jpg",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

pub fn external(host: &str, port: u16) -> MqttMode {
    MqttMode::External {
        host: host.to_owned(),
        port,
    }
}

/// A port that was free a moment ago (bound and released), for a process
/// that must be told its port up front.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// An open `/api/events` stream of one user.
pub struct Events {
    body: std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buf: String,
}

impl Client {
    pub async fn events(&self) -> Events {
        let res = self
            .raw(reqwest::Method::GET, "/api/events")
            // A stream: the client's 10 s request timeout does not apply.
            .timeout(Duration::from_secs(3600))
            .send()
            .await
            .expect("events stream opens");
        assert_eq!(res.status(), StatusCode::OK);
        Events {
            body: Box::pin(res.bytes_stream()),
            buf: String::new(),
        }
    }
}

impl Events {
    /// The next event, whatever its name: (name, data).
    pub async fn next_any(&mut self, within: Duration) -> (String, Value) {
        use futures_util::StreamExt;
        let deadline = tokio::time::Instant::now() + within;
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let field = |f: &str| {
                    block
                        .lines()
                        .find_map(|l| l.strip_prefix(f).map(|v| v.trim().to_owned()))
                };
                if let (Some(name), Some(data)) = (field("event:"), field("data:")) {
                    return (
                        name,
                        serde_json::from_str(&data).expect("event data is JSON"),
                    );
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.next())
                .await
                .unwrap_or_else(|_| panic!("no event within {within:?}"))
                .expect("events stream open")
                .expect("chunk");
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The next event named `name` whose data passes `check`, within `within`
    /// (other events are skipped).
    pub async fn next_matching(
        &mut self,
        name: &str,
        within: Duration,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let (event, data) = tokio::time::timeout(left, self.next_any(within))
                .await
                .unwrap_or_else(|_| panic!("no matching {name} event within {within:?}"));
            if event == name && check(&data) {
                return data;
            }
        }
    }

    pub async fn next(&mut self, name: &str, within: Duration) -> Value {
        self.next_matching(name, within, |_| true).await
    }

    /// Resolves when the hub ends the stream.
    pub async fn closed(&mut self) {
        use futures_util::StreamExt;
        while let Some(Ok(_)) = self.body.next().await {}
    }
}
