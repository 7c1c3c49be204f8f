//! `soak`: the streaming load (16 cradles, 32 viewers unless `--cradles` /
//! `--viewers` say otherwise) held for `--duration`, with the hub's RSS
//! recorded every `--sample-every` seconds. A hub whose memory keeps
//! growing under steady load shows a positive slope after the first minute.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use super::hub_process::{ProcMeter, RssRecorder};
use super::stats::rss_slope_mb_per_min;
use super::streaming::StreamingLoad;
use super::{BenchArgs, ScenarioResult};

/// Growth while buffers and caches fill is expected; the slope counts from here.
pub const SLOPE_FROM_S: f64 = 60.0;

pub(super) async fn soak(args: &BenchArgs) -> Result<ScenarioResult> {
    let cradles = args.cradles.unwrap_or(16);
    let viewers = args.viewers.unwrap_or(32);
    if cradles == 0 {
        bail!("soak needs at least one cradle");
    }
    let every = Duration::from_secs(args.sample_every.max(1));
    let load = StreamingLoad::start(args, cradles, viewers, 0).await?;
    // The series starts with the load, warm-up included: the first minute is
    // drawn but left out of the slope.
    let recorder = load.hub.pid.map(|pid| RssRecorder::start(pid, every));
    tokio::time::sleep(Duration::from_secs(args.warmup)).await;
    load.measuring(true);
    let meter = ProcMeter::start(load.hub.pid);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.duration)).await;
    let secs = started.elapsed().as_secs_f64();
    load.measuring(false);
    let mut r = ScenarioResult {
        scenario: "soak".into(),
        cradles,
        viewers,
        seconds: secs,
        ..Default::default()
    };
    meter.finish(&mut r);
    load.fill(&mut r, secs);
    if let Some(rows) = args.old_readings.filter(|_| args.hub_url.is_none()) {
        r.notes.push(format!(
            "the hub started with {rows} readings past retention; its maintenance deletes them \
             from a minute after start, during the soak"
        ));
    }
    match recorder {
        Some(recorder) => {
            let series = recorder.finish();
            r.rss_mb_first = series.first().map(|p| p.rss_mb);
            r.rss_mb_last = series.last().map(|p| p.rss_mb);
            let series_max = series.iter().map(|p| p.rss_mb).reduce(f64::max);
            r.hub_rss_mb_max = match (r.hub_rss_mb_max, series_max) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            r.rss_slope_mb_per_min = rss_slope_mb_per_min(&series, SLOPE_FROM_S);
            r.notes.push(format!(
                "RSS every {} s ({} samples from the start of the load, warm-up included): \
                 first {} MB, last {} MB, max {} MB; slope after the first minute {}",
                every.as_secs(),
                series.len(),
                super::fmt(r.rss_mb_first, 1),
                super::fmt(r.rss_mb_last, 1),
                super::fmt(r.hub_rss_mb_max, 1),
                match r.rss_slope_mb_per_min {
                    Some(s) => format!("{s:+.2} MB/min"),
                    None => "- (needs two samples past 60 s)".into(),
                }
            ));
            r.rss_series = series;
        }
        None => r
            .notes
            .push("no --hub-pid: RSS not sampled, only viewer rates and latency".into()),
    }
    Ok(r)
}
