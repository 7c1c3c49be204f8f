//! `cradle-hub bench`: a load generator and meter that speaks only the
//! public protocol (API.md over HTTP, PROTOCOL.md over MQTT), so it measures
//! the real hub from outside, as cradles and phones use it.
//!
//! By default each scenario starts a fresh hub (this same binary) as a child
//! process on free loopback ports and samples its CPU time and RSS from
//! `/proc/<pid>`; `--hub-url`/`--mqtt-url`/`--hub-pid` measure a running hub.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::StreamExt;
use parking_lot::Mutex;
use rumqttc::{AsyncClient, MqttOptions, QoS};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::config::parse_mqtt_url;

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Scenario: one-viewer, 4x8, 16x32, burst, rest, stuck, alerts16, startup, or all.
    #[arg(long, default_value = "all")]
    pub scenario: String,
    /// Seconds each scenario measures (after the warm-up).
    #[arg(long, default_value_t = 30)]
    pub duration: u64,
    /// Seconds of warm-up before measuring.
    #[arg(long, default_value_t = 3)]
    pub warmup: u64,
    /// Messages in the sensor burst.
    #[arg(long, default_value_t = 200_000)]
    pub burst: usize,
    /// Measure this running hub instead of starting one per scenario.
    #[arg(long)]
    pub hub_url: Option<String>,
    /// The running hub's broker (with --hub-url).
    #[arg(long, default_value = "mqtt://127.0.0.1:1883")]
    pub mqtt_url: String,
    /// The running hub's pid, to sample its CPU and memory (with --hub-url).
    #[arg(long)]
    pub hub_pid: Option<u32>,
    /// Write the results as JSON here.
    #[arg(long, default_value = "bench-results.json")]
    pub json: PathBuf,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct ScenarioResult {
    pub scenario: String,
    pub cradles: usize,
    pub viewers: usize,
    pub seconds: f64,
    /// Hub CPU as a percentage of one core.
    pub hub_cpu_pct: Option<f64>,
    pub hub_rss_mb_max: Option<f64>,
    pub viewer_fps_min: Option<f64>,
    pub viewer_fps_mean: Option<f64>,
    pub latency_ms_p50: Option<f64>,
    pub latency_ms_p99: Option<f64>,
    pub latency_ms_max: Option<f64>,
    pub stored_per_sec: Option<f64>,
    pub lost: Option<u64>,
    pub requests_per_sec: Option<f64>,
    pub frames_published: Option<u64>,
    pub frames_recorded: Option<u64>,
    pub ready_ms: Option<f64>,
    pub notes: Vec<String>,
}

/// A hub under test: started by us, or given.
struct Hub {
    url: String,
    mqtt_host: String,
    mqtt_port: u16,
    pid: Option<u32>,
    child: Option<tokio::process::Child>,
    _dir: Option<TempDir>,
}

impl Drop for Hub {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.start_kill();
        }
    }
}

struct TempDir(PathBuf);
impl TempDir {
    fn new() -> Result<TempDir> {
        let p = std::env::temp_dir().join(format!(
            "cradle-bench-{}-{:x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&p)?;
        Ok(TempDir(p))
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn start_hub(extra_env: &[(&str, &str)]) -> Result<(Hub, Duration)> {
    let dir = TempDir::new()?;
    let (http, mqtt) = (free_port()?, free_port()?);
    let exe = std::env::current_exe()?;
    let started = Instant::now();
    let mut cmd = tokio::process::Command::new(exe);
    cmd.arg("--http-addr")
        .arg(format!("127.0.0.1:{http}"))
        .arg("--mqtt-addr")
        .arg(format!("127.0.0.1:{mqtt}"))
        .arg("--data-dir")
        .arg(&dir.0)
        .env("RUST_LOG", "warn,rumqttd=off")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().context("starting the hub")?;
    let pid = child.id();
    let url = format!("http://127.0.0.1:{http}");
    let http_client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let healthy = http_client
            .get(format!("{url}/health"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if healthy
            && tokio::net::TcpStream::connect(("127.0.0.1", mqtt))
                .await
                .is_ok()
        {
            break;
        }
        if Instant::now() > deadline {
            bail!("the hub did not become ready in 20 s");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let ready = started.elapsed();
    Ok((
        Hub {
            url,
            mqtt_host: "127.0.0.1".into(),
            mqtt_port: mqtt,
            pid,
            child: Some(child),
            _dir: Some(dir),
        },
        ready,
    ))
}

async fn hub_for(args: &BenchArgs) -> Result<Hub> {
    match &args.hub_url {
        Some(url) => {
            let (host, port) = parse_mqtt_url(&args.mqtt_url)?;
            Ok(Hub {
                url: url.trim_end_matches('/').to_owned(),
                mqtt_host: host,
                mqtt_port: port,
                pid: args.hub_pid,
                child: None,
                _dir: None,
            })
        }
        None => Ok(start_hub(&[]).await?.0),
    }
}

/// CPU ticks (utime+stime) and RSS of a process.
fn proc_sample(pid: u32) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the ")" of the command name: state is field 3; utime 14, stime 15.
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())?;
    Some((ticks, rss_kb))
}

/// Samples CPU and peak RSS over a measurement window.
struct ProcMeter {
    pid: Option<u32>,
    start: Option<(u64, Instant)>,
    max_rss_kb: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

/// Linux reports CPU time in USER_HZ ticks, 100 per second on every
/// mainstream architecture.
const TICKS_PER_SEC: f64 = 100.0;

impl ProcMeter {
    fn start(pid: Option<u32>) -> ProcMeter {
        let max_rss_kb = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        if let Some(pid) = pid {
            let (max, stop) = (max_rss_kb.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    if let Some((_, rss)) = proc_sample(pid) {
                        max.fetch_max(rss, Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            });
        }
        ProcMeter {
            pid,
            start: pid.and_then(proc_sample).map(|(t, _)| (t, Instant::now())),
            max_rss_kb,
            stop,
        }
    }

    fn finish(self, r: &mut ScenarioResult) {
        self.stop.store(true, Ordering::Relaxed);
        if let (Some(pid), Some((t0, i0))) = (self.pid, self.start)
            && let Some((t1, rss)) = proc_sample(pid)
        {
            let secs = i0.elapsed().as_secs_f64();
            r.hub_cpu_pct = Some((t1 - t0) as f64 / TICKS_PER_SEC / secs * 100.0);
            self.max_rss_kb.fetch_max(rss, Ordering::Relaxed);
            r.hub_rss_mb_max = Some(self.max_rss_kb.load(Ordering::Relaxed) as f64 / 1024.0);
        }
    }
}

/// An account with N claimed cradles, logged in.
struct Account {
    http: reqwest::Client,
    cookie: String,
    uuids: Vec<String>,
}

async fn provision(hub: &Hub, cradles: usize) -> Result<Account> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let name = format!("bench-{:x}", rand::random::<u32>());
    let register = http
        .post(format!("{}/register", hub.url))
        .json(&json!({"username": name, "password": "bench-password"}))
        .send()
        .await?;
    if !register.status().is_success() {
        bail!("register: {}", register.status());
    }
    let login = http
        .post(format!("{}/login", hub.url))
        .json(&json!({"username": name, "password": "bench-password"}))
        .send()
        .await?;
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or_else(|| anyhow!("login set no cookie"))?
        .to_owned();
    let mut uuids = Vec::new();
    for i in 0..cradles {
        let uuid = format!("{name}-cradle-{i}");
        http.post(format!("{}/register_agent", hub.url))
            .json(&json!({"uuid": uuid, "ip": "127.0.0.1"}))
            .send()
            .await?
            .error_for_status()?;
        http.post(format!("{}/register_cradle", hub.url))
            .header("cookie", &cookie)
            .json(&json!({"cradle_uuid": uuid}))
            .send()
            .await?
            .error_for_status()?;
        uuids.push(uuid);
    }
    Ok(Account {
        http,
        cookie,
        uuids,
    })
}

fn unix_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// Inserts a COM segment right after SOI: `cradle-bench <seq> <send nanos>`.
fn stamp(jpeg: &[u8], seq: u64) -> Vec<u8> {
    let text = format!("cradle-bench {seq} {}", unix_nanos());
    let len = (text.len() + 2) as u16;
    let mut out = Vec::with_capacity(jpeg.len() + text.len() + 4);
    out.extend_from_slice(&jpeg[..2]);
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// Send time of a stamped frame, if the hub passed it through.
fn stamped_nanos(jpeg: &[u8]) -> Option<u128> {
    if jpeg.len() < 6 || jpeg[2..4] != [0xFF, 0xFE] {
        return None;
    }
    let len = u16::from_be_bytes([jpeg[4], jpeg[5]]) as usize;
    let text = std::str::from_utf8(jpeg.get(6..4 + len)?).ok()?;
    text.strip_prefix("cradle-bench ")?
        .split(' ')
        .nth(1)?
        .parse()
        .ok()
}

struct Publishers {
    stop: Arc<AtomicBool>,
    frames: Arc<AtomicU64>,
}

impl Publishers {
    fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

async fn mqtt_client(hub: &Hub, id: &str) -> AsyncClient {
    let mut options = MqttOptions::new(id, hub.mqtt_host.clone(), hub.mqtt_port);
    options
        .set_max_packet_size(64 * 1024, 1024 * 1024)
        .set_keep_alive(Duration::from_secs(30))
        .set_inflight(200);
    let (client, mut eventloop) = AsyncClient::new(options, 1024);
    tokio::spawn(async move {
        loop {
            if eventloop.poll().await.is_err() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    client
}

/// Plays the cradles as PROTOCOL.md describes: a frame and a direction every
/// 1/fps s, temperature every second, crying every 3 s.
async fn publish_cradles(
    hub: &Hub,
    uuids: &[String],
    fps: u32,
    temperature: &'static str,
) -> Result<Publishers> {
    let pool = tokio::task::spawn_blocking(crate::simulator::shared_pool)
        .await?
        .map_err(|e| anyhow!(e))?;
    let stop = Arc::new(AtomicBool::new(false));
    let frames = Arc::new(AtomicU64::new(0));
    for (i, uuid) in uuids.iter().enumerate() {
        let client = mqtt_client(hub, &format!("bench-pub-{i}-{:x}", rand::random::<u32>())).await;
        let (uuid, pool, stop, frames) = (uuid.clone(), pool.clone(), stop.clone(), frames.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(fps)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let mut seq = 0u64;
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                seq += 1;
                let jpeg = stamp(&pool.still[seq as usize % pool.still.len()], seq);
                let payload = format!(
                    r#"{{"frame": "{}", "timestamp": "2026-11-22 20:56:17"}}"#,
                    STANDARD.encode(&jpeg)
                );
                if client
                    .publish(
                        format!("cradle/{uuid}/frame"),
                        QoS::AtMostOnce,
                        false,
                        payload,
                    )
                    .await
                    .is_ok()
                {
                    frames.fetch_add(1, Ordering::Relaxed);
                }
                let _ = client
                    .publish(
                        format!("cradle/{uuid}/direction"),
                        QoS::AtMostOnce,
                        false,
                        r#"{"direction": "정면 유지 중", "timestamp": "2026-11-22 20:56:17"}"#,
                    )
                    .await;
                if seq.is_multiple_of(u64::from(fps)) {
                    let _ = client
                        .publish(
                            format!("cradle/{uuid}/temperature"),
                            QoS::AtMostOnce,
                            false,
                            format!(r#"{{"temperature": "{temperature}"}}"#),
                        )
                        .await;
                }
                if seq.is_multiple_of(u64::from(fps) * 3) {
                    let _ = client
                        .publish(
                            format!("cradle/{uuid}/crying"),
                            QoS::AtMostOnce,
                            false,
                            r#"{"status": "Silent", "probability": 0.1}"#,
                        )
                        .await;
                }
            }
            let _ = client.disconnect().await;
        });
    }
    Ok(Publishers { stop, frames })
}

#[derive(Default)]
struct ViewerStats {
    frames: AtomicU64,
    latencies_us: Mutex<Vec<u64>>,
    measuring: AtomicBool,
}

/// An MJPEG viewer counting frames and publish→receipt latency.
fn spawn_viewer(acct: &Account, url: String, stats: Arc<ViewerStats>, stop: Arc<AtomicBool>) {
    let (http, cookie) = (acct.http.clone(), acct.cookie.clone());
    tokio::spawn(async move {
        let Ok(res) = http.get(&url).header("cookie", cookie).send().await else {
            return;
        };
        let mut body = res.bytes_stream();
        let mut buf: Vec<u8> = Vec::with_capacity(256 * 1024);
        while !stop.load(Ordering::Relaxed) {
            // Parse as many complete parts as the buffer holds.
            while let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let Some(len) = head
                    .lines()
                    .find_map(|l| l.strip_prefix("Content-Length: "))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                else {
                    return;
                };
                let start = head_end + 4;
                if buf.len() < start + len + 2 {
                    break;
                }
                if stats.measuring.load(Ordering::Relaxed) {
                    stats.frames.fetch_add(1, Ordering::Relaxed);
                    if let Some(sent) = stamped_nanos(&buf[start..start + len]) {
                        let us = (unix_nanos().saturating_sub(sent) / 1000) as u64;
                        stats.latencies_us.lock().push(us);
                    }
                }
                buf.drain(..start + len + 2);
            }
            match tokio::time::timeout(Duration::from_secs(5), body.next()).await {
                Ok(Some(Ok(chunk))) => buf.extend_from_slice(&chunk),
                _ => return,
            }
        }
    });
}

/// A viewer that connects, asks for the stream and never reads.
async fn stuck_viewer(hub: &Hub, uuid: &str, cookie: &str) -> Result<tokio::net::TcpStream> {
    let addr = hub.url.trim_start_matches("http://").to_owned();
    let mut s = tokio::net::TcpStream::connect(&addr).await?;
    s.write_all(
        format!("GET /stream/{uuid} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\n\r\n")
            .as_bytes(),
    )
    .await?;
    Ok(s)
}

fn percentile(sorted: &[u64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    Some(sorted[i.min(sorted.len() - 1)] as f64 / 1000.0)
}

fn fill_latency(r: &mut ScenarioResult, all: &mut [u64]) {
    all.sort_unstable();
    r.latency_ms_p50 = percentile(all, 0.50);
    r.latency_ms_p99 = percentile(all, 0.99);
    r.latency_ms_max = all.last().map(|v| *v as f64 / 1000.0);
}

async fn streaming(
    args: &BenchArgs,
    name: &str,
    cradles: usize,
    viewers: usize,
    stuck: usize,
) -> Result<ScenarioResult> {
    let hub = hub_for(args).await?;
    let acct = provision(&hub, cradles).await?;
    let publishers = publish_cradles(&hub, &acct.uuids, 10, "36.8").await?;
    let stop = Arc::new(AtomicBool::new(false));
    let stats: Vec<Arc<ViewerStats>> = (0..viewers)
        .map(|_| Arc::new(ViewerStats::default()))
        .collect();
    for (i, s) in stats.iter().enumerate() {
        let uuid = &acct.uuids[i % cradles];
        spawn_viewer(
            &acct,
            format!("{}/stream/{uuid}", hub.url),
            s.clone(),
            stop.clone(),
        );
    }
    let mut stuck_conns = Vec::new();
    for i in 0..stuck {
        stuck_conns.push(stuck_viewer(&hub, &acct.uuids[i % cradles], &acct.cookie).await?);
    }
    tokio::time::sleep(Duration::from_secs(args.warmup)).await;
    let readings_before = hub_readings(&hub).await.unwrap_or(0);
    for s in &stats {
        s.measuring.store(true, Ordering::Relaxed);
    }
    let meter = ProcMeter::start(hub.pid);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.duration)).await;
    let secs = started.elapsed().as_secs_f64();
    for s in &stats {
        s.measuring.store(false, Ordering::Relaxed);
    }
    let mut r = ScenarioResult {
        scenario: name.into(),
        cradles,
        viewers,
        seconds: secs,
        ..Default::default()
    };
    meter.finish(&mut r);
    let fps: Vec<f64> = stats
        .iter()
        .map(|s| s.frames.load(Ordering::Relaxed) as f64 / secs)
        .collect();
    r.viewer_fps_min = fps.iter().copied().reduce(f64::min);
    r.viewer_fps_mean = (!fps.is_empty()).then(|| fps.iter().sum::<f64>() / fps.len() as f64);
    let mut all: Vec<u64> = stats
        .iter()
        .flat_map(|s| s.latencies_us.lock().clone())
        .collect();
    fill_latency(&mut r, &mut all);
    if stuck > 0 {
        let readings = hub_readings(&hub).await.unwrap_or(0) - readings_before;
        let expected = (cradles as f64 * secs * 11.3) as u64; // 10 directions + 1 temperature + 1/3 crying per second
        r.notes.push(format!(
            "{stuck} viewers never read; readings ingested during the run: {readings} (~{expected} sent)"
        ));
    }
    r.frames_published = Some(publishers.frames.load(Ordering::Relaxed));
    publishers.stop();
    stop.store(true, Ordering::Relaxed);
    drop(stuck_conns);
    Ok(r)
}

async fn hub_health(hub: &Hub) -> Result<Value> {
    Ok(reqwest::get(format!("{}/health", hub.url))
        .await?
        .json()
        .await?)
}

async fn hub_readings(hub: &Hub) -> Result<u64> {
    hub_health(hub).await?["ingest"]["readings"]
        .as_u64()
        .ok_or_else(|| anyhow!("no ingest counter"))
}

async fn burst(args: &BenchArgs) -> Result<ScenarioResult> {
    let hub = hub_for(args).await?;
    let acct = provision(&hub, 1).await?;
    let uuid = acct.uuids[0].clone();
    let jobs_before = hub_health(&hub).await?["store"]["jobs"]
        .as_u64()
        .unwrap_or(0);
    let meter = ProcMeter::start(hub.pid);
    let client = mqtt_client(&hub, &format!("bench-burst-{:x}", rand::random::<u32>())).await;
    let started = Instant::now();
    let window_start = crate::timefmt::now_millis() - 1000;
    let topic = format!("cradle/{uuid}/temperature");
    for i in 0..args.burst {
        let payload = format!(
            r#"{{"temperature": "{:.1}"}}"#,
            35.0 + (i % 30) as f64 / 10.0
        );
        client
            .publish(topic.clone(), QoS::AtLeastOnce, false, payload)
            .await?;
    }
    // Stored = committed by the hub's writer, then counted through the API.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let jobs = hub_health(&hub).await?["store"]["jobs"]
            .as_u64()
            .unwrap_or(0);
        if jobs >= jobs_before + args.burst as u64 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    let mut r = ScenarioResult {
        scenario: "burst".into(),
        cradles: 1,
        seconds: secs,
        ..Default::default()
    };
    meter.finish(&mut r);
    let end = crate::timefmt::now_millis() + 1000;
    let rows: Vec<Value> = acct
        .http
        .get(format!("{}/api/sensor_data/{uuid}", hub.url))
        .query(&[
            ("start_date", crate::timefmt::format_millis(window_start)),
            ("end_date", crate::timefmt::format_millis(end)),
        ])
        .header("cookie", &acct.cookie)
        .send()
        .await?
        .json()
        .await?;
    let stored = rows.iter().filter(|r| !r["temperature"].is_null()).count() as u64;
    r.stored_per_sec = Some(stored as f64 / secs);
    r.lost = Some((args.burst as u64).saturating_sub(stored));
    r.notes.push(format!(
        "{} messages at QoS 1; {stored} returned by /api/sensor_data",
        args.burst
    ));
    let _ = client.disconnect().await;
    Ok(r)
}

async fn rest(args: &BenchArgs) -> Result<ScenarioResult> {
    let hub = hub_for(args).await?;
    let acct = provision(&hub, 4).await?;
    let publishers = publish_cradles(&hub, &acct.uuids, 10, "36.8").await?;
    let stop = Arc::new(AtomicBool::new(false));
    let stats: Vec<Arc<ViewerStats>> = (0..8).map(|_| Arc::new(ViewerStats::default())).collect();
    for (i, s) in stats.iter().enumerate() {
        spawn_viewer(
            &acct,
            format!("{}/stream/{}", hub.url, acct.uuids[i % 4]),
            s.clone(),
            stop.clone(),
        );
    }
    tokio::time::sleep(Duration::from_secs(args.warmup)).await;
    let meter = ProcMeter::start(hub.pid);
    let started = Instant::now();
    let until = started + Duration::from_secs(args.duration);
    let connections = 16;
    let mut tasks = Vec::new();
    for c in 0..connections {
        // One client per connection: each keeps its own keep-alive socket.
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()?;
        let url = format!("{}/api/agent_status/{}", hub.url, acct.uuids[c % 4]);
        let cookie = acct.cookie.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(100_000);
            while Instant::now() < until {
                let t = Instant::now();
                match http.get(&url).header("cookie", &cookie).send().await {
                    Ok(res) if res.status().is_success() => {
                        let _ = res.bytes().await;
                        lat.push(t.elapsed().as_micros() as u64);
                    }
                    _ => {}
                }
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await?);
    }
    let secs = started.elapsed().as_secs_f64();
    let mut r = ScenarioResult {
        scenario: "rest".into(),
        cradles: 4,
        viewers: 8,
        seconds: secs,
        requests_per_sec: Some(all.len() as f64 / secs),
        ..Default::default()
    };
    meter.finish(&mut r);
    fill_latency(&mut r, &mut all);
    r.notes.push(format!("{connections} connections on /api/agent_status during 4x8 streaming; latency is per request"));
    publishers.stop();
    stop.store(true, Ordering::Relaxed);
    Ok(r)
}

async fn alerts16(args: &BenchArgs) -> Result<ScenarioResult> {
    let hub = hub_for(args).await?;
    let acct = provision(&hub, 16).await?;
    for uuid in &acct.uuids {
        acct.http
            .post(format!("{}/api/alert_settings/{uuid}", hub.url))
            .header("cookie", &acct.cookie)
            .json(&json!({"max_temperature": 30}))
            .send()
            .await?
            .error_for_status()?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let stats: Vec<Arc<ViewerStats>> = (0..16).map(|_| Arc::new(ViewerStats::default())).collect();
    for (i, s) in stats.iter().enumerate() {
        spawn_viewer(
            &acct,
            format!("{}/stream/{}", hub.url, acct.uuids[i]),
            s.clone(),
            stop.clone(),
        );
    }
    for s in &stats {
        s.measuring.store(true, Ordering::Relaxed);
    }
    let meter = ProcMeter::start(hub.pid);
    // 36.8 °C is above the 30 °C threshold: every cradle alerts at its first reading.
    let publishers = publish_cradles(&hub, &acct.uuids, 10, "36.8").await?;
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.duration.min(55))).await;
    publishers.stop();
    let secs = started.elapsed().as_secs_f64();
    for s in &stats {
        s.measuring.store(false, Ordering::Relaxed);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut r = ScenarioResult {
        scenario: "alerts16".into(),
        cradles: 16,
        viewers: 16,
        seconds: secs,
        frames_published: Some(publishers.frames.load(Ordering::Relaxed)),
        ..Default::default()
    };
    meter.finish(&mut r);
    let alerts: Vec<Value> = acct
        .http
        .get(format!("{}/api/alert_logs", hub.url))
        .header("cookie", &acct.cookie)
        .send()
        .await?
        .json()
        .await?;
    let mut recorded = 0u64;
    for a in &alerts {
        let detail: Value = acct
            .http
            .get(format!("{}/api/alert_detail/{}", hub.url, a["id"]))
            .header("cookie", &acct.cookie)
            .send()
            .await?
            .json()
            .await?;
        recorded += detail["total_frames"].as_u64().unwrap_or(0);
    }
    r.frames_recorded = Some(recorded);
    let fps: Vec<f64> = stats
        .iter()
        .map(|s| s.frames.load(Ordering::Relaxed) as f64 / secs)
        .collect();
    r.viewer_fps_min = fps.iter().copied().reduce(f64::min);
    r.viewer_fps_mean = Some(fps.iter().sum::<f64>() / fps.len().max(1) as f64);
    let mut all: Vec<u64> = stats
        .iter()
        .flat_map(|s| s.latencies_us.lock().clone())
        .collect();
    fill_latency(&mut r, &mut all);
    r.notes.push(format!(
        "{} alerts; every published frame should be recorded (window < 60 s)",
        alerts.len()
    ));
    stop.store(true, Ordering::Relaxed);
    Ok(r)
}

async fn startup() -> Result<ScenarioResult> {
    let mut times = Vec::new();
    for _ in 0..5 {
        let (hub, ready) = start_hub(&[]).await?;
        times.push(ready.as_secs_f64() * 1000.0);
        drop(hub);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    times.sort_by(f64::total_cmp);
    Ok(ScenarioResult {
        scenario: "startup".into(),
        ready_ms: Some(times[times.len() / 2]),
        notes: vec![format!(
            "empty data folder; ready = /health 200 (HTTP, DB, MQTT) and MQTT port open; median of 5, all: {:?}",
            times.iter().map(|t| format!("{t:.0}")).collect::<Vec<_>>()
        )],
        ..Default::default()
    })
}

fn fmt(v: Option<f64>, digits: usize) -> String {
    v.map_or("-".into(), |v| format!("{v:.digits$}"))
}

fn print_table(results: &[ScenarioResult]) {
    println!(
        "\n{:<11} {:>3}x{:<3} {:>7} {:>7} {:>8} {:>8} {:>8} {:>8} {:>9} {:>6} {:>9} {:>8}",
        "scenario",
        "c",
        "v",
        "cpu%",
        "rss MB",
        "fps min",
        "p50 ms",
        "p99 ms",
        "max ms",
        "stored/s",
        "lost",
        "req/s",
        "ready ms"
    );
    for r in results {
        println!(
            "{:<11} {:>3}x{:<3} {:>7} {:>7} {:>8} {:>8} {:>8} {:>8} {:>9} {:>6} {:>9} {:>8}",
            r.scenario,
            r.cradles,
            r.viewers,
            fmt(r.hub_cpu_pct, 2),
            fmt(r.hub_rss_mb_max, 1),
            fmt(r.viewer_fps_min, 2),
            fmt(r.latency_ms_p50, 2),
            fmt(r.latency_ms_p99, 2),
            fmt(r.latency_ms_max, 1),
            fmt(r.stored_per_sec, 0),
            r.lost.map_or("-".into(), |v| v.to_string()),
            fmt(r.requests_per_sec, 0),
            fmt(r.ready_ms, 0),
        );
        for n in &r.notes {
            println!("            {n}");
        }
        if let (Some(p), Some(rec)) = (r.frames_published, r.frames_recorded) {
            println!("            frames published {p}, recorded {rec}");
        }
    }
}

pub async fn run(args: BenchArgs) -> Result<()> {
    let all = [
        "one-viewer",
        "4x8",
        "16x32",
        "burst",
        "rest",
        "stuck",
        "alerts16",
        "startup",
    ];
    let chosen: Vec<&str> = if args.scenario == "all" {
        all.to_vec()
    } else {
        args.scenario.split(',').map(str::trim).collect()
    };
    let mut results = Vec::new();
    for name in chosen {
        eprintln!("bench: {name} ...");
        let r = match name {
            "one-viewer" => streaming(&args, name, 1, 1, 0).await,
            "4x8" => streaming(&args, name, 4, 8, 0).await,
            "16x32" => streaming(&args, name, 16, 32, 0).await,
            "stuck" => streaming(&args, name, 4, 8, 2).await,
            "burst" => burst(&args).await,
            "rest" => rest(&args).await,
            "alerts16" => alerts16(&args).await,
            "startup" => startup().await,
            other => Err(anyhow!("unknown scenario {other:?}; one of {all:?} or all")),
        };
        match r {
            Ok(r) => results.push(r),
            Err(e) => {
                eprintln!("bench: {name} failed: {e:#}");
                results.push(ScenarioResult {
                    scenario: name.into(),
                    notes: vec![format!("FAILED: {e:#}")],
                    ..Default::default()
                });
            }
        }
    }
    print_table(&results);
    let report = json!({
        "date": crate::timefmt::format_millis(crate::timefmt::now_millis()),
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "duration_s": args.duration,
        "results": results,
    });
    std::fs::write(&args.json, serde_json::to_vec_pretty(&report)?)?;
    println!("\nJSON written to {}", args.json.display());
    if results
        .iter()
        .any(|r| r.notes.iter().any(|n| n.starts_with("FAILED")))
    {
        bail!("some scenarios failed");
    }
    Ok(())
}
