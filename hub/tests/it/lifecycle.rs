//! Shutdown and health: the hub stops within 2 s with streams open, ends
//! them cleanly, flushes its store, and says when a part of it has stopped.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{Client, TestHub, fixture_frame};

/// Reads a streamed body until it ends; panics if it ends with an error
/// (a reset instead of a clean close) or does not end within `limit`.
async fn reads_to_a_clean_end(res: reqwest::Response, what: &str, limit: Duration) {
    let mut body = res.bytes_stream();
    let ended = tokio::time::timeout(limit, async {
        while let Some(chunk) = body.next().await {
            chunk.unwrap_or_else(|e| panic!("{what} ended with an error: {e:?}"));
        }
    })
    .await;
    assert!(ended.is_ok(), "{what} still open");
}

async fn open_stream(c: &Client, path: &str) -> reqwest::Response {
    let res = c
        .raw(Method::GET, path)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res
}

/// Defect: shutdown waited for every connection to close, and MJPEG and
/// `/api/events` never close.
#[tokio::test]
async fn shutdown_with_a_viewer_and_an_events_stream_open_returns_within_2s() {
    let t = TestHub::start().await;
    let mut ann = t.user("ann").await;
    t.cradle_for(&mut ann, "c1").await;
    let cradle = t.cradle("c1").await;
    cradle.frame(&fixture_frame(0)).await;
    ann.wait_for("/api/agent_status/c1", |b| b["last_frame_time"].is_string())
        .await;

    // A viewer without a deadline (as browsers are), receiving frames.
    let mut viewer_client = ann.client_clone();
    viewer_client.http = reqwest::Client::new();
    let viewer = open_stream(&viewer_client, "/stream/c1").await;
    let events = open_stream(&viewer_client, "/api/events").await;
    let crying = open_stream(&viewer_client, "/crying_status/c1").await;

    let TestHub { hub, dir: _dir } = t;
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), hub.shutdown())
        .await
        .expect("shutdown returns with streams open");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "shutdown took {took:?}");
    for (res, what) in [
        (viewer, "MJPEG"),
        (events, "events"),
        (crying, "crying SSE"),
    ] {
        reads_to_a_clean_end(res, what, Duration::from_secs(1)).await;
    }
}

#[tokio::test]
async fn shutdown_flushes_queued_writes_and_stops_the_tasks() {
    let t = TestHub::start().await;
    let store = t.hub.state.store.clone();
    let tasks = t.hub.tasks().clone();
    // Fresh readings: retention, which may run meanwhile, must not take any.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    for i in 0..2_000_i64 {
        store
            .write_detached("test", move |c| {
                c.execute(
                    "INSERT INTO sensor_data (agent_uuid, ts, temperature) VALUES ('x', ?1, 36.6)",
                    [now_ms + i],
                )
                .map(|_| ())
            })
            .await
            .unwrap();
    }
    let token = t.hub.cancellation_token();
    let dir = t.dir;
    t.hub.shutdown().await;
    assert!(token.is_cancelled());
    assert!(
        tasks.health().iter().all(|h| !h.is_alive()),
        "every owned task and the writer stopped"
    );
    // Everything queued before shutdown is on disk.
    let conn = rusqlite::Connection::open(dir.path().join("cradle-hub.sqlite3")).unwrap();
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM sensor_data WHERE agent_uuid = 'x'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 2_000);
}

#[tokio::test]
async fn health_reports_the_writer_and_the_tasks() {
    let t = TestHub::start().await;
    let c = t.client();
    // The writer beats on its first commit.
    c.post(
        "/register",
        json!({"username": "ann", "password": "pass-word"}),
    )
    .await;
    let (s, h) = c.get("/health").await;
    assert_eq!(s, StatusCode::OK, "{h}");
    assert_eq!(h["status"], "ok");
    assert_eq!(h["problems"], json!([]));
    assert_eq!(h["store"]["writer"], "running");
    assert!(h["store"]["last_commit"].is_string(), "{h}");
    for task in [
        "database-writer",
        "alert-ticker",
        "maintenance",
        "session-cleanup",
    ] {
        assert_eq!(h["tasks"][task]["alive"], true, "{task}: {h}");
    }

    // A task that dies makes the hub degraded, by name; a dead MQTT task
    // is not "connected", whatever its last state said.
    let dead = cradle_hub::tasks::TaskHealth::new("mqtt");
    drop(dead.alive_guard());
    t.hub.tasks().register(dead);
    let (s, h) = c.get("/health").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(h["status"], "degraded");
    assert_eq!(h["mqtt"], "stopped");
    assert_eq!(h["problems"], json!(["mqtt stopped", "mqtt disconnected"]));
    assert_eq!(h["tasks"]["mqtt"]["alive"], false);
    t.hub.shutdown().await;
}

/// Defect: SIGTERM killed the hub (exit 143) and lost the writer's queue.
#[test]
fn sigterm_stops_the_binary_cleanly_with_a_viewer_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cradle-hub"))
        .args([
            "--http-addr",
            "127.0.0.1:0",
            "--mqtt-addr",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir.path())
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the hub binary");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let url = line
        .trim()
        .rsplit(' ')
        .next()
        .filter(|u| u.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_owned();

    let rt = tokio::runtime::Runtime::new().unwrap();
    let (viewer, events) = rt.block_on(async {
        let mut c = Client {
            base: url.clone(),
            http: reqwest::Client::new(),
            cookie: None,
            lang: None,
        };
        c.post(
            "/register",
            json!({"username": "ann", "password": "pass-word"}),
        )
        .await;
        c.login("ann", "pass-word").await;
        c.post("/register_agent", json!({"uuid": "c1", "ip": "10.0.0.7"}))
            .await;
        c.post("/register_cradle", json!({"cradle_uuid": "c1"}))
            .await;
        (
            open_stream(&c, "/stream/c1").await,
            open_stream(&c, "/api/events").await,
        )
    });

    let mut stderr = child.stderr.take().unwrap();
    let log_reader = std::thread::spawn(move || {
        let mut log = String::new();
        let _ = stderr.read_to_string(&mut log);
        log
    });
    let started = Instant::now();
    // SAFETY: sending a signal to our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(5) {
            let _ = child.kill();
            panic!("the hub did not exit within 5 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let took = started.elapsed();
    let log = log_reader.join().unwrap();
    assert!(status.success(), "exit status {status:?}; log:\n{log}");
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    assert!(log.contains("SIGTERM"), "{log}");
    assert!(log.contains("store flushed"), "{log}");
    rt.block_on(async {
        reads_to_a_clean_end(viewer, "MJPEG", Duration::from_secs(1)).await;
        reads_to_a_clean_end(events, "events", Duration::from_secs(1)).await;
    });
}
