//! The hub under test: a fresh child process on free loopback ports, or a
//! running hub given by flags; and what `/proc/<pid>` says about it (CPU
//! time, RSS, open file descriptors).

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use parking_lot::Mutex;
use serde::Serialize;

use super::{BenchArgs, ScenarioResult};
use crate::protocol::parse_mqtt_url;

/// A hub under test: started by us, or given.
pub(super) struct Hub {
    pub url: String,
    pub mqtt_host: String,
    pub mqtt_port: u16,
    /// Known only for a hub we started or one given with `--hub-pid`.
    pub pid: Option<u32>,
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

/// Starts the hub as a child process and waits until it is ready; returns
/// it with the time it took.
///
/// The hub is this very executable: the tools are linked into `cradle-hub`,
/// whose default command (no subcommand) is the hub.
pub(super) async fn start_hub(old_readings: Option<u64>) -> Result<(Hub, Duration)> {
    let dir = TempDir::new()?;
    let (http, mqtt) = (free_port()?, free_port()?);
    let exe = std::env::current_exe()?;
    if let Some(rows) = old_readings {
        let seeded = Instant::now();
        let status = tokio::process::Command::new(&exe)
            .arg("seed-old-readings")
            .arg("--data-dir")
            .arg(&dir.0)
            .arg("--rows")
            .arg(rows.to_string())
            .env("RUST_LOG", "warn")
            .status()
            .await
            .context("seeding old readings")?;
        if !status.success() {
            bail!("seeding old readings failed: {status}");
        }
        eprintln!(
            "bench: {rows} readings past retention seeded in {:.1} s",
            seeded.elapsed().as_secs_f64()
        );
    }
    let started = Instant::now();
    let mut cmd = tokio::process::Command::new(exe);
    cmd.arg("--http-addr")
        .arg(format!("127.0.0.1:{http}"))
        .arg("--mqtt-addr")
        .arg(format!("127.0.0.1:{mqtt}"))
        .arg("--data-dir")
        .arg(&dir.0)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
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

/// The hub a scenario measures: the one given with `--hub-url`, or a fresh one.
pub(super) async fn hub_for(args: &BenchArgs) -> Result<Hub> {
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
        None => Ok(start_hub(args.old_readings).await?.0),
    }
}

/// CPU ticks (utime+stime) and RSS in kB of a process.
fn proc_sample(pid: u32) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the ")" of the command name: state is field 3; utime 14, stime 15.
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some((ticks, rss_kb(pid)?))
}

fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
}

pub(super) fn rss_mb(pid: u32) -> Option<f64> {
    rss_kb(pid).map(|kb| kb as f64 / 1024.0)
}

/// Open file descriptors of a process (sockets included). Reading another
/// user's process needs the same user or root.
pub(super) fn fd_count(pid: u32) -> Option<u64> {
    Some(
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .ok()?
            .filter(|e| e.is_ok())
            .count() as u64,
    )
}

/// Samples CPU and peak RSS over a measurement window.
pub(super) struct ProcMeter {
    pid: Option<u32>,
    start: Option<(u64, Instant)>,
    max_rss_kb: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

/// Linux reports CPU time in USER_HZ ticks, 100 per second on every
/// mainstream architecture.
const TICKS_PER_SEC: f64 = 100.0;

impl ProcMeter {
    pub fn start(pid: Option<u32>) -> ProcMeter {
        let max_rss_kb = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        if let Some(pid) = pid {
            let (max, stop) = (max_rss_kb.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(rss) = rss_kb(pid) {
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

    /// Fills the hub's CPU share and peak RSS into `r`.
    pub fn finish(self, r: &mut ScenarioResult) {
        self.stop.store(true, Ordering::Relaxed);
        if let (Some(pid), Some((t0, i0))) = (self.pid, self.start)
            && let Some((t1, rss)) = proc_sample(pid)
        {
            let secs = i0.elapsed().as_secs_f64();
            r.hub_cpu_pct = Some(t1.saturating_sub(t0) as f64 / TICKS_PER_SEC / secs * 100.0);
            self.max_rss_kb.fetch_max(rss, Ordering::Relaxed);
            r.hub_rss_mb_max = Some(self.max_rss_kb.load(Ordering::Relaxed) as f64 / 1024.0);
        }
    }
}

impl Drop for ProcMeter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// One point of an RSS series: seconds since the load started, RSS in MB.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct RssPoint {
    pub t_s: f64,
    pub rss_mb: f64,
}

/// Records the hub's RSS every `every` from now on, for a soak's curve.
pub(super) struct RssRecorder {
    points: Arc<Mutex<Vec<RssPoint>>>,
    pid: u32,
    started: Instant,
    task: tokio::task::JoinHandle<()>,
}

impl RssRecorder {
    pub fn start(pid: u32, every: Duration) -> RssRecorder {
        let points = Arc::new(Mutex::new(Vec::new()));
        let started = Instant::now();
        let task = {
            let points = points.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                // A late sample keeps its real time; the next is due `every` after it.
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    if let Some(rss_mb) = rss_mb(pid) {
                        let t_s = started.elapsed().as_secs_f64();
                        points.lock().push(RssPoint { t_s, rss_mb });
                    }
                }
            })
        };
        RssRecorder {
            points,
            pid,
            started,
            task,
        }
    }

    /// Stops sampling, adds a last sample so the series reaches the end of
    /// the run, and returns the series.
    pub fn finish(self) -> Vec<RssPoint> {
        self.task.abort();
        let mut points = std::mem::take(&mut *self.points.lock());
        if let Some(rss_mb) = rss_mb(self.pid) {
            let t_s = self.started.elapsed().as_secs_f64();
            if points.last().is_none_or(|p| t_s - p.t_s > 0.5) {
                points.push(RssPoint { t_s, rss_mb });
            }
        }
        points
    }
}

impl Drop for RssRecorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}
