//! Ingest and HTTP latency while retention deletes a big backlog.
//!
//! ```sh
//! cargo run -p cradle-hub --example retention_load -- 10000000
//! ```
//!
//! 1. Fills a fresh database with N readings older than the retention
//!    period (4 cradles), through the store, before the hub starts.
//! 2. Starts the real hub on loopback with retention off (a very long
//!    period) and measures for 15 s: the baseline.
//! 3. Restarts it with 30 days: its maintenance task starts deleting the N
//!    rows at once. Measures until they are gone.
//!
//! Load in both phases: 4 cradles publishing readings over MQTT as firmware
//! does (10 directions, 1 temperature, 1/3 crying a second each); an
//! "ingest write" every 5 ms, timed from queueing to commit (what a reading
//! waits for the writer); and HTTP every 50 ms each: a write
//! (`POST /api/alert_settings`), a history read of the last minute
//! (`GET /api/sensor_data`) and a status read (`GET /api/agent_status`).
//! Prints p50 / p99 / max per phase.
//!
//! `-- 10000000 --index-only` only fills and times what migration 02 costs
//! on such a table at the first start after an upgrade (building the new
//! index on `ts`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cradle_hub::config::Settings;
use cradle_hub::readings::Reading;
use cradle_hub::store::sensors;
use cradle_hub::timefmt::now_millis;
use parking_lot::Mutex;
use rumqttc::{AsyncClient, MqttOptions, QoS};
use serde_json::json;

const CRADLES: [&str; 4] = ["load-0", "load-1", "load-2", "load-3"];

#[derive(Default)]
struct Samples(Mutex<Vec<Duration>>);

impl Samples {
    fn add(&self, d: Duration) {
        self.0.lock().push(d);
    }
    fn report(&self, what: &str) {
        let mut v = std::mem::take(&mut *self.0.lock());
        v.sort();
        if v.is_empty() {
            println!("  {what:<28} no samples");
            return;
        }
        let p = |q: f64| v[((v.len() - 1) as f64 * q) as usize];
        println!(
            "  {what:<28} n={:<6} p50 {:>7.2} ms   p99 {:>7.2} ms   max {:>7.2} ms",
            v.len(),
            p(0.5).as_secs_f64() * 1e3,
            p(0.99).as_secs_f64() * 1e3,
            v[v.len() - 1].as_secs_f64() * 1e3
        );
    }
}

#[derive(Default)]
struct Stats {
    ingest_write: Samples,
    http_write: Samples,
    http_history: Samples,
    http_status: Samples,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // The hub's warnings (e.g. a slow batch on the writer) go to stderr.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,rumqttd=off")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rows: i64 = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(10_000_000);
    let index_only = args.iter().any(|a| a == "--index-only");
    let dir = tempfile::tempdir()?;
    println!(
        "retention_load: {rows} old readings in {}",
        dir.path().display()
    );

    let t = Instant::now();
    cradle_hub::store::backlog::seed_old_readings(dir.path(), rows, 40).await?;
    println!("filled in {:.1} s", t.elapsed().as_secs_f64());
    if index_only {
        let conn = rusqlite::Connection::open(dir.path().join("cradle-hub.sqlite3"))?;
        conn.execute_batch("DROP INDEX sensor_data_ts")?;
        let t = Instant::now();
        conn.execute_batch("CREATE INDEX sensor_data_ts ON sensor_data(ts)")?;
        println!(
            "migration 02 on this table (index on ts): {:.1} s",
            t.elapsed().as_secs_f64()
        );
        return Ok(());
    }

    println!("phase A: baseline (nothing to delete), 15 s");
    let stats = run_phase(dir.path(), 100_000, rows, false).await?;
    report(&stats);
    println!("phase B: retention deletes {rows} rows");
    let stats = run_phase(dir.path(), 30, rows, true).await?;
    report(&stats);
    Ok(())
}

fn report(s: &Stats) {
    s.ingest_write.report("ingest write (queue→commit)");
    s.http_write.report("POST /api/alert_settings");
    s.http_history.report("GET /api/sensor_data (1 min)");
    s.http_status.report("GET /api/agent_status");
}

async fn run_phase(
    dir: &std::path::Path,
    retention_days: u32,
    rows: i64,
    until_deleted: bool,
) -> anyhow::Result<Stats> {
    let mut settings = Settings::ephemeral(dir);
    settings.retention_days = retention_days;
    let hub = cradle_hub::start(settings).await?;
    // Not the minute's grace a real start gives the cradles first.
    hub.state.maintenance.sweep_soon();
    let base = hub.url();
    let http = reqwest::Client::new();
    // An account owning the 4 cradles (once; kept in the database).
    let _ = http
        .post(format!("{base}/register"))
        .json(&json!({"username": "load", "password": "pass-word"}))
        .send()
        .await?;
    let login = http
        .post(format!("{base}/login"))
        .json(&json!({"username": "load", "password": "pass-word"}))
        .send()
        .await?
        .error_for_status()?;
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_default()
        .to_owned();
    for uuid in CRADLES {
        http.post(format!("{base}/register_agent"))
            .json(&json!({"uuid": uuid, "ip": "127.0.0.1"}))
            .send()
            .await?;
        http.post(format!("{base}/register_cradle"))
            .header("cookie", &cookie)
            .json(&json!({"cradle_uuid": uuid}))
            .send()
            .await?;
    }

    let stop = Arc::new(AtomicBool::new(false));
    let stats = Arc::new(Stats::default());
    let mut jobs = Vec::new();

    // Cradles over MQTT.
    let port = hub.mqtt_addr.map(|a| a.port()).unwrap_or(1883);
    for (i, uuid) in CRADLES.iter().enumerate() {
        let mut options = MqttOptions::new(format!("load-{i}"), "127.0.0.1", port);
        options.set_max_packet_size(1 << 20, 1 << 20);
        let (client, mut eventloop) = AsyncClient::new(options, 256);
        tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
        let (stop, uuid) = (stop.clone(), uuid.to_string());
        jobs.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                n += 1;
                let d = json!({"direction": "정면 유지 중", "timestamp": "2026-01-01 00:00:00"});
                let _ = client
                    .publish(format!("cradle/{uuid}/direction"), QoS::AtLeastOnce, false, d.to_string())
                    .await;
                if n.is_multiple_of(10) {
                    let _ = client
                        .publish(format!("cradle/{uuid}/temperature"), QoS::AtLeastOnce, false, r#"{"temperature": "36.7"}"#)
                        .await;
                }
                if n.is_multiple_of(30) {
                    let _ = client
                        .publish(
                            format!("cradle/{uuid}/crying"),
                            QoS::AtLeastOnce,
                            false,
                            r#"{"status": "Silent", "probability": 0.1, "timestamp": "2026-01-01 00:00:00"}"#,
                        )
                        .await;
                }
            }
        }));
    }

    // Ingest-like writes, timed to the commit.
    {
        let (store, stop, stats) = (hub.state.store.clone(), stop.clone(), stats.clone());
        jobs.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(5));
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let t = Instant::now();
                let now = now_millis();
                let _ = store
                    .write_waiting(move |c| {
                        sensors::insert(c, "probe", now, &Reading::Temperature(36.6))
                    })
                    .await;
                stats.ingest_write.add(t.elapsed());
            }
        }));
    }

    // HTTP.
    for kind in 0..3 {
        let (http, base, cookie, stop, stats) = (
            http.clone(),
            base.clone(),
            cookie.clone(),
            stop.clone(),
            stats.clone(),
        );
        jobs.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(50));
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let t = Instant::now();
                let req = match kind {
                    0 => http
                        .post(format!("{base}/api/alert_settings/load-0"))
                        .json(&json!({"max_temperature": 38.0})),
                    1 => {
                        let to = cradle_hub::timefmt::format_millis(now_millis());
                        let from = cradle_hub::timefmt::format_millis(now_millis() - 60_000);
                        http.get(format!(
                            "{base}/api/sensor_data/load-1?start_date={from}&end_date={to}"
                        ))
                    }
                    _ => http.get(format!("{base}/api/agent_status/load-2")),
                };
                let ok = match req.header("cookie", &cookie).send().await {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                let target = match kind {
                    0 => &stats.http_write,
                    1 => &stats.http_history,
                    _ => &stats.http_status,
                };
                if ok {
                    target.add(t.elapsed());
                } else {
                    eprintln!("http request {kind} failed");
                }
            }
        }));
    }

    // The WAL's largest size during the phase.
    let wal_max = Arc::new(std::sync::atomic::AtomicU64::new(0));
    {
        let (wal, wal_max, stop) = (
            dir.join("cradle-hub.sqlite3-wal"),
            wal_max.clone(),
            stop.clone(),
        );
        jobs.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
                wal_max.fetch_max(len, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }));
    }

    let started = Instant::now();
    if until_deleted {
        let store = hub.state.store.clone();
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let left: i64 = store
                .read(|c| {
                    c.query_row(
                        "SELECT count(*) FROM (SELECT 1 FROM sensor_data WHERE ts < ?1 LIMIT 1)",
                        [now_millis() - 30 * 86_400_000],
                        |r| r.get(0),
                    )
                })
                .await?;
            if left == 0 {
                break;
            }
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "  retention deleted {rows} rows in {secs:.1} s ({:.0} rows/s) while loaded",
            rows as f64 / secs
        );
    } else {
        tokio::time::sleep(Duration::from_secs(15)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for j in jobs {
        let _ = j.await;
    }
    let readings = hub.state.ingest.counters.readings.load(Ordering::Relaxed);
    println!(
        "  MQTT readings ingested: {readings} in {:.1} s; largest WAL {} MB",
        started.elapsed().as_secs_f64(),
        wal_max.load(Ordering::Relaxed) / (1024 * 1024)
    );
    hub.shutdown().await;
    Ok(Arc::try_unwrap(stats).unwrap_or_default())
}
