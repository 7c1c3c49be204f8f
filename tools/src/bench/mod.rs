//! `cradle-hub bench`: a load generator and meter that speaks only the
//! public protocol (API.md over HTTP, PROTOCOL.md over MQTT), so it measures
//! the real hub from outside, as cradles and phones use it.
//!
//! By default each scenario starts a fresh hub (this same binary) as a child
//! process on free loopback ports and samples its CPU time, RSS and open
//! files from `/proc/<pid>`; `--hub-url`/`--mqtt-url`/`--hub-pid` measure a
//! running hub (with any broker or MQTT endpoint that speaks the protocol).

mod alerts16;
mod burst;
mod churn;
mod hub_process;
mod load;
pub mod plot;
mod rest;
mod soak;
mod startup;
mod stats;
mod streaming;

use std::path::PathBuf;

use anyhow::{Result, anyhow, bail};
use serde::Serialize;
use serde_json::json;

pub use hub_process::RssPoint;
pub use stats::{rss_fit, rss_slope_mb_per_min};

/// The scenarios `--scenario all` runs: each takes about `--duration`.
/// `soak` is long by nature and runs only when named.
pub const QUICK_SCENARIOS: [&str; 10] = [
    "one-viewer",
    "4x8",
    "16x32",
    "idle16",
    "burst",
    "rest",
    "stuck",
    "alerts16",
    "churn",
    "startup",
];

#[derive(Debug, Clone, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: Option<BenchCommand>,
    /// Scenario: one-viewer, 4x8, 16x32, idle16, burst, rest, stuck, alerts16, churn, startup,
    /// soak, or all (every one but soak); several separated by commas.
    #[arg(long, default_value = "all")]
    pub scenario: String,
    /// Seconds each scenario measures (after the warm-up); soak holds its load this long.
    #[arg(long, default_value_t = 30)]
    pub duration: u64,
    /// Seconds of warm-up before measuring.
    #[arg(long, default_value_t = 3)]
    pub warmup: u64,
    /// Messages in the sensor burst.
    #[arg(long, default_value_t = 200_000)]
    pub burst: usize,
    /// MQTT connect → publish → disconnect cycles in churn.
    #[arg(long, default_value_t = 1000)]
    pub churn: usize,
    /// Cradles in soak. [default: 16]
    #[arg(long)]
    pub cradles: Option<usize>,
    /// MJPEG viewers in soak. [default: 32]
    #[arg(long)]
    pub viewers: Option<usize>,
    /// Seconds between two RSS samples in soak.
    #[arg(long, default_value_t = 10)]
    pub sample_every: u64,
    /// Measure this running hub instead of starting one per scenario.
    #[arg(long)]
    pub hub_url: Option<String>,
    /// The running hub's broker or MQTT endpoint (with --hub-url).
    #[arg(long, default_value = "mqtt://127.0.0.1:1883")]
    pub mqtt_url: String,
    /// The running hub's pid, to sample its CPU, memory and open files (with --hub-url).
    #[arg(long)]
    pub hub_pid: Option<u32>,
    /// Write the results as JSON here.
    #[arg(long, default_value = "bench-results.json")]
    pub json: PathBuf,
    /// Each hub the bench starts holds this many readings past the retention
    /// period, which its maintenance deletes from a minute after start: a
    /// soak then measures the hub while retention runs.
    #[arg(long)]
    pub old_readings: Option<u64>,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum BenchCommand {
    /// Draw the hub's RSS over time from a soak's JSON results as a PNG.
    Plot(plot::PlotArgs),
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
    /// soak: RSS at the first and the last sample.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rss_mb_first: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rss_mb_last: Option<f64>,
    /// soak: least-squares slope of RSS after the first minute of load.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rss_slope_mb_per_min: Option<f64>,
    /// soak: the hub's RSS every `--sample-every` s, from the start of the
    /// load (warm-up included).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rss_series: Vec<RssPoint>,
    /// churn: completed connect → publish → disconnect cycles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycles: Option<u64>,
    /// churn: the hub before the cycles and after they settled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hub_rss_mb_before: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hub_rss_mb_after: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fds_before: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fds_after: Option<u64>,
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
        "idle16" => streaming::idle16(args).await,
        "burst" => burst::burst(args).await,
        "rest" => rest::rest(args).await,
        "alerts16" => alerts16::alerts16(args).await,
        "churn" => churn::churn(args).await,
        "startup" => startup::startup().await,
        "soak" => soak::soak(args).await,
        other => Err(anyhow!(
            "unknown scenario {other:?}; one of {QUICK_SCENARIOS:?}, soak, or all"
        )),
    }
}

/// `cradle-hub bench`: runs the chosen scenarios, prints the table, writes the JSON.
pub async fn run(args: BenchArgs) -> Result<()> {
    if let Some(BenchCommand::Plot(plot)) = &args.command {
        return plot::run(plot);
    }
    let chosen: Vec<&str> = if args.scenario == "all" {
        QUICK_SCENARIOS.to_vec()
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
