//! Shutdown and health: the hub stops within 2 s with streams open, ends
//! them cleanly, flushes its store, and says when a part of it has stopped.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{Client, TestHub, fixture_frame};

/// Starts the `cradle-hub` binary on free loopback ports; returns it and
/// its HTTP URL (the first line it prints).
fn spawn_hub_binary(data_dir: &std::path::Path) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cradle-hub"))
        .args([
            "--http-addr",
            "127.0.0.1:0",
            "--mqtt-addr",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(data_dir)
        .env("RUST_LOG", "info")
        // Nothing to announce on the machine's network; and "1" must be
        // understood (it once stopped the desktop app's hub: only "true" was).
        .env("CRADLE_HUB_NO_MDNS", "1")
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
    (child, url)
}

fn wait_exit(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("the hub did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

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
    let (mut child, url) = spawn_hub_binary(dir.path());

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
    let status = wait_exit(&mut child, Duration::from_secs(5));
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

/// While a shutdown waits (here for a request whose body never comes, up to
/// a second), a second Ctrl-C ends the process at once.
#[test]
fn a_second_ctrl_c_exits_at_once() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url) = spawn_hub_binary(dir.path());
    let addr = url.trim_start_matches("http://");
    let mut slow = std::net::TcpStream::connect(addr).unwrap();
    slow.write_all(
        b"POST /login HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user",
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let pid = child.id() as i32;
    let signal = |sig| {
        // SAFETY: sending a signal to our own child.
        assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
    };
    signal(libc::SIGINT);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the first Ctrl-C waits for the request in flight"
    );
    let second = Instant::now();
    signal(libc::SIGINT);
    let status = wait_exit(&mut child, Duration::from_secs(5));
    assert!(
        second.elapsed() < Duration::from_millis(500),
        "exited {:?} after the second Ctrl-C",
        second.elapsed()
    );
    assert_eq!(status.code(), Some(130), "{status:?}");
    drop(slow);
}
