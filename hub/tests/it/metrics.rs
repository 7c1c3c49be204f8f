//! `GET /metrics`: who may read it, and that what Prometheus would scrape
//! parses and moves with real traffic (a cradle over MQTT, a viewer, a bad
//! payload, an alert). The text is parsed by the Prometheus project's own
//! Python client (`prometheus_client.parser`, installed by scripts/test.sh),
//! not by a parser of ours.

use std::process::Stdio;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::common::{Client, Cradle, TestHub, external, fixture_frame, free_port};
use crate::mosquitto::Mosquitto;

const TOKEN: &str = "metrics-token-for-tests-0123456789";

/// One sample of a scrape, as the parser read it.
#[derive(Debug)]
struct Sample {
    /// The family's declared type (`counter`, `gauge`, `histogram`).
    kind: String,
    name: String,
    labels: serde_json::Map<String, Value>,
    value: f64,
}

struct Scrape(Vec<Sample>);

impl Scrape {
    /// The value of the sample `name` whose labels include `labels`.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.0
            .iter()
            .find(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).and_then(Value::as_str) == Some(*v))
            })
            .map(|s| s.value)
    }

    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels)
            .unwrap_or_else(|| panic!("no sample {name} {labels:?} in {:#?}", self.0))
    }

    fn kind(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.kind.as_str())
            .unwrap_or_else(|| panic!("no sample {name}"))
    }
}

/// Parses Prometheus text with `prometheus_client.parser`; panics on text
/// it refuses.
async fn parse(text: &str) -> Scrape {
    const SCRIPT: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
samples = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        samples.append({"kind": family.type, "name": s.name, "labels": s.labels, "value": s.value})
json.dump(samples, sys.stdout)
"#;
    let mut child = Command::new("python3")
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 with prometheus-client (scripts/test.sh installs it)");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(text.as_bytes()).await.expect("write");
    drop(stdin);
    let out = child.wait_with_output().await.expect("parser ran");
    assert!(
        out.status.success(),
        "prometheus_client refused the text: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let samples: Vec<Value> = serde_json::from_slice(&out.stdout).expect("parser output");
    Scrape(
        samples
            .into_iter()
            .map(|s| Sample {
                kind: s["kind"].as_str().unwrap_or_default().to_owned(),
                name: s["name"].as_str().unwrap_or_default().to_owned(),
                labels: s["labels"].as_object().cloned().unwrap_or_default(),
                value: s["value"].as_f64().expect("numeric value"),
            })
            .collect(),
    )
}

/// GET /metrics as `client` (its cookie, if any), with `bearer` if given.
async fn get_metrics(client: &Client, bearer: Option<&str>) -> reqwest::Response {
    let mut req = client.raw(Method::GET, "/metrics");
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    req.send().await.expect("request")
}

async fn scrape(t: &TestHub) -> Scrape {
    let res = get_metrics(&t.client(), Some(TOKEN)).await;
    assert_eq!(res.status(), StatusCode::OK);
    parse(&res.text().await.expect("body")).await
}

/// Scrapes until `ready` accepts (MQTT delivery and commits are asynchronous).
async fn scrape_until(t: &TestHub, what: &str, ready: impl Fn(&Scrape) -> bool) -> Scrape {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let s = scrape(t).await;
        if ready(&s) {
            return s;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}: {:#?}",
            s.0
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn assert_refused(res: reqwest::Response) {
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers()["content-type"], "application/json");
    let body: Value = res.json().await.expect("JSON error body");
    assert_eq!(body["success"], false);
    assert_eq!(body["status"], "error");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn metrics_need_a_login_or_the_token() {
    let t = TestHub::start_with(|s| s.metrics_token = Some(TOKEN.into())).await;
    let anonymous = t.client();
    assert_refused(get_metrics(&anonymous, None).await).await;
    assert_refused(get_metrics(&anonymous, Some("wrong-token")).await).await;
    assert_refused(get_metrics(&anonymous, Some(&TOKEN[..TOKEN.len() - 1])).await).await;

    let res = get_metrics(&anonymous, Some(TOKEN)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert_eq!(res.headers()["cache-control"], "no-store");

    let ann = t.user("ann").await;
    let res = get_metrics(&ann, None).await;
    assert_eq!(res.status(), StatusCode::OK, "a signed-in user reads them");
    // A token, once sent, decides alone: a wrong one is not rescued by the cookie.
    assert_refused(get_metrics(&ann, Some("wrong-token")).await).await;

    let s = scrape(&t).await;
    assert!(
        s.value(
            "cradle_hub_http_requests_total",
            &[("route", "/metrics"), ("status", "401")]
        ) >= 4.0
    );
    t.hub.shutdown().await;
}

#[tokio::test]
async fn without_a_configured_token_only_a_login_reads_metrics() {
    let t = TestHub::start().await;
    assert_refused(get_metrics(&t.client(), None).await).await;
    assert_refused(get_metrics(&t.client(), Some("")).await).await;
    assert_refused(get_metrics(&t.client(), Some("anything")).await).await;
    let ann = t.user("ann").await;
    assert_eq!(get_metrics(&ann, None).await.status(), StatusCode::OK);
    t.hub.shutdown().await;
}

#[tokio::test]
async fn counters_move_with_a_cradle_a_viewer_a_bad_payload_and_an_alert() {
    let t = TestHub::start_with(|s| s.metrics_token = Some(TOKEN.into())).await;
    let before = scrape(&t).await;
    assert_eq!(before.kind("cradle_hub_ingest_frames_total"), "counter");
    assert_eq!(before.kind("cradle_hub_store_queue_depth"), "gauge");
    assert_eq!(
        before.kind("cradle_hub_store_commit_seconds_count"),
        "histogram"
    );
    assert_eq!(before.value("cradle_hub_ingest_frames_total", &[]), 0.0);
    assert_eq!(before.value("cradle_hub_mqtt_connections_open", &[]), 0.0);
    assert_eq!(before.value("cradle_hub_live_viewers", &[]), 0.0);
    assert_eq!(
        before.value(
            "cradle_hub_ingest_dropped_total",
            &[("reason", "invalid_json")]
        ),
        0.0
    );
    assert_eq!(
        before.value(
            "cradle_hub_alerts_raised_total",
            &[("type", "high_temperature")]
        ),
        0.0
    );
    if cfg!(target_os = "linux") {
        assert!(before.value("process_resident_memory_bytes", &[]) > 1_000_000.0);
    }

    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;
    let cradle = t.cradle("c1").await;
    for n in 0..3 {
        cradle.frame(&fixture_frame(n % 2)).await;
    }
    cradle
        .publish("temperature", r#"{"temperature": "36.8"}"#)
        .await;
    cradle
        .publish("temperature", r#"{"temperature": "39.5"}"#)
        .await;
    // Bad payloads: not JSON, and a frame that is not a JPEG.
    cradle.publish("temperature", "{not json").await;
    cradle.frame(b"plainly not a jpeg").await;
    ann.wait_for("/api/agent_status/c1", |b| b["temperature"] == 39.5)
        .await;

    let viewer = ann
        .raw(Method::GET, "/stream/c1")
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .expect("live view opens");
    assert_eq!(viewer.status(), StatusCode::OK);
    let (_, _) = ann.get("/api/no-such-route/c1").await;

    let after = scrape_until(&t, "ingest, viewer and alert", |s| {
        s.value("cradle_hub_ingest_readings_total", &[]) >= 2.0
            && s.value("cradle_hub_live_viewers", &[]) == 1.0
            && s.value(
                "cradle_hub_alerts_raised_total",
                &[("type", "high_temperature")],
            ) == 1.0
    })
    .await;
    assert_eq!(after.value("cradle_hub_ingest_frames_total", &[]), 3.0);
    for reason in ["invalid_json", "not_jpeg"] {
        assert_eq!(
            after.value("cradle_hub_ingest_dropped_total", &[("reason", reason)]),
            1.0,
            "{reason}"
        );
    }
    assert_eq!(
        after.value("cradle_hub_alerts_raised_total", &[("type", "crying")]),
        0.0
    );
    assert_eq!(after.value("cradle_hub_mqtt_connections_open", &[]), 1.0);
    assert!(after.value("cradle_hub_mqtt_connections_total", &[]) >= 1.0);
    assert_eq!(after.value("cradle_hub_cradles_connected", &[]), 1.0);
    assert!(
        after.value("cradle_hub_store_commit_seconds_count", &[])
            > before.value("cradle_hub_store_commit_seconds_count", &[])
    );
    assert!(after.value("cradle_hub_store_jobs_total", &[]) >= 2.0);

    // HTTP requests by route pattern and status, never by raw path.
    assert!(
        after.value(
            "cradle_hub_http_requests_total",
            &[
                ("method", "GET"),
                ("route", "/api/agent_status/{uuid}"),
                ("status", "200")
            ]
        ) >= 1.0
    );
    assert_eq!(
        after.value(
            "cradle_hub_http_requests_total",
            &[("route", "/stream/{uuid}"), ("status", "200")]
        ),
        1.0
    );
    assert!(
        after.value(
            "cradle_hub_http_requests_total",
            &[("route", "fallback"), ("status", "404")]
        ) >= 1.0
    );
    let routes: Vec<&str> = after
        .0
        .iter()
        .filter(|s| s.name == "cradle_hub_http_requests_total")
        .filter_map(|s| s.labels.get("route").and_then(Value::as_str))
        .collect();
    assert!(
        routes.iter().all(|r| !r.contains("c1")),
        "a raw path became a label: {routes:?}"
    );

    // The viewer leaves: the hub notices at its next frame write.
    drop(viewer);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        cradle.frame(&fixture_frame(0)).await;
        if scrape(&t).await.value("cradle_hub_live_viewers", &[]) == 0.0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the viewer still counts"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    cradle.power_off();
    scrape_until(&t, "the connection to close", |s| {
        s.value("cradle_hub_mqtt_connections_open", &[]) == 0.0
    })
    .await;
    t.hub.shutdown().await;
}

#[tokio::test]
async fn with_an_external_broker_its_link_is_reported_instead_of_the_endpoint() {
    let port = free_port();
    let _broker = Mosquitto::start(port).await;
    let t = TestHub::start_with(|s| {
        s.mqtt = external("127.0.0.1", port);
        s.metrics_token = Some(TOKEN.into());
    })
    .await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;
    let cradle = Cradle::connect(port, "c1").await;
    cradle.frame(&fixture_frame(0)).await;

    let s = scrape_until(&t, "a frame through Mosquitto", |s| {
        s.value("cradle_hub_ingest_frames_total", &[]) == 1.0
    })
    .await;
    assert_eq!(s.value("cradle_hub_mqtt_broker_connected", &[]), 1.0);
    assert_eq!(s.value("cradle_hub_mqtt_broker_reconnects_total", &[]), 0.0);
    assert_eq!(s.get("cradle_hub_mqtt_connections_open", &[]), None);
    t.hub.shutdown().await;
}
