//! `cradle-hub bench`: a load generator and meter that speaks only the
//! public protocol (API.md over HTTP, PROTOCOL.md over MQTT), so it measures
//! the real hub from outside, as cradles and phones use it.
//!
//! By default each scenario starts a fresh hub (this same binary) as a child
//! process on free loopback ports and samples its CPU time and RSS from
//! `/proc/<pid>`; `--hub-url`/`--mqtt-url`/`--hub-pid` measure a
//! running hub (with any broker or MQTT endpoint that speaks the protocol).

mod alerts16;
mod burst;
mod hub_process;
mod load;
mod rest;
mod startup;
mod stats;
mod streaming;

use std::path::PathBuf;

use anyhow::{Result, anyhow, bail};
use serde::Serialize;
use serde_json::json;

/// The scenarios `--scenario all` runs.
pub const ALL_SCENARIOS: [&str; 8] = [
    "one-viewer",
    "4x8",
    "16x32",
    "burst",
    "rest",
    "stuck",
    "alerts16",
    "startup",
];

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Scenario: one-viewer, 4x8, 16x32, burst, rest, stuck, alerts16, startup, or all;
    /// several separated by commas.
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
    /// The running hub's broker or MQTT endpoint (with --hub-url).
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

async fn scenario(args: &BenchArgs, name: &str) -> Result<ScenarioResult> {
    match name {
        "one-viewer" => streaming::streaming(args, name, 1, 1, 0).await,
        "4x8" => streaming::streaming(args, name, 4, 8, 0).await,
        "16x32" => streaming::streaming(args, name, 16, 32, 0).await,
        "stuck" => streaming::streaming(args, name, 4, 8, 2).await,
        "burst" => burst::burst(args).await,
        "rest" => rest::rest(args).await,
        "alerts16" => alerts16::alerts16(args).await,
        "startup" => startup::startup().await,
        other => Err(anyhow!(
            "unknown scenario {other:?}; one of {ALL_SCENARIOS:?} or all"
        )),
    }
}

/// `cradle-hub bench`: runs the chosen scenarios, prints the table, writes the JSON.
pub async fn run(args: BenchArgs) -> Result<()> {
    let chosen: Vec<&str> = if args.scenario == "all" {
        ALL_SCENARIOS.to_vec()
    } else {
        args.scenario.split(',').map(str::trim).collect()
    };
    let mut results = Vec::new();
    for name in chosen {
        eprintln!("bench: {name} ...");
        match scenario(&args, name).await {
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
        "date": crate::protocol::format_millis(crate::protocol::now_millis()),
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
