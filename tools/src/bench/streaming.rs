//! Cradles streaming at 10 fps with MJPEG viewers: `one-viewer`, `4x8`,
//! `16x32`, `stuck` (4x8 plus viewers that never read) and `idle16` (16
//! cradles, nobody watching). The same load runs under `soak`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;

use super::hub_process::{Hub, ProcMeter, hub_for};
use super::load::{
    Account, Publishers, ViewerStats, hub_readings, provision, publish_cradles, spawn_viewer,
    stuck_viewer,
};
use super::stats::fill_viewers;
use super::{BenchArgs, ScenarioResult};

/// N cradles publishing, V viewers spread over them, S stuck viewers.
/// Everything stops when this is dropped.
pub(super) struct StreamingLoad {
    pub hub: Hub,
    pub acct: Account,
    pub publishers: Publishers,
    pub viewers: Vec<Arc<ViewerStats>>,
    stop_viewers: Arc<AtomicBool>,
    _stuck: Vec<tokio::net::TcpStream>,
}

impl StreamingLoad {
    pub async fn start(
        args: &BenchArgs,
        cradles: usize,
        viewers: usize,
        stuck: usize,
    ) -> Result<StreamingLoad> {
        let hub = hub_for(args).await?;
        let acct = provision(&hub, cradles).await?;
        let publishers = publish_cradles(&hub, &acct.uuids, 10, "36.8").await?;
        let stop_viewers = Arc::new(AtomicBool::new(false));
        let stats: Vec<Arc<ViewerStats>> = (0..viewers)
            .map(|_| Arc::new(ViewerStats::default()))
            .collect();
        for (i, s) in stats.iter().enumerate() {
            let uuid = &acct.uuids[i % cradles];
            spawn_viewer(
                &acct,
                format!("{}/stream/{uuid}", hub.url),
                s.clone(),
                stop_viewers.clone(),
            );
        }
        let mut stuck_conns = Vec::new();
        for i in 0..stuck {
            stuck_conns.push(stuck_viewer(&hub, &acct.uuids[i % cradles], &acct.cookie).await?);
        }
        Ok(StreamingLoad {
            hub,
            acct,
            publishers,
            viewers: stats,
            stop_viewers,
            _stuck: stuck_conns,
        })
    }

    pub fn measuring(&self, on: bool) {
        for s in &self.viewers {
            s.measuring.store(on, Ordering::Relaxed);
        }
    }

    /// Viewer rates and latencies over `secs` of measuring, and frames published.
    pub fn fill(&self, r: &mut ScenarioResult, secs: f64) {
        if !self.viewers.is_empty() {
            fill_viewers(r, &self.viewers, secs);
        }
        r.frames_published = Some(self.publishers.frames.load(Ordering::Relaxed));
    }
}

impl Drop for StreamingLoad {
    fn drop(&mut self) {
        self.publishers.stop();
        self.stop_viewers.store(true, Ordering::Relaxed);
    }
}

pub(super) async fn streaming(
    args: &BenchArgs,
    name: &str,
    cradles: usize,
    viewers: usize,
    stuck: usize,
) -> Result<ScenarioResult> {
    let load = StreamingLoad::start(args, cradles, viewers, stuck).await?;
    tokio::time::sleep(Duration::from_secs(args.warmup)).await;
    let readings_before = hub_readings(&load.hub).await.unwrap_or(0);
    load.measuring(true);
    let meter = ProcMeter::start(load.hub.pid);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.duration)).await;
    let secs = started.elapsed().as_secs_f64();
    load.measuring(false);
    let mut r = ScenarioResult {
        scenario: name.into(),
        cradles,
        viewers,
        seconds: secs,
        ..Default::default()
    };
    meter.finish(&mut r);
    load.fill(&mut r, secs);
    if stuck > 0 {
        let readings = hub_readings(&load.hub)
            .await
            .unwrap_or(0)
            .saturating_sub(readings_before);
        let expected = (cradles as f64 * secs * 11.3) as u64; // 10 directions + 1 temperature + 1/3 crying per second
        r.notes.push(format!(
            "{stuck} viewers never read; readings ingested during the run: {readings} (~{expected} sent)"
        ));
    }
    Ok(r)
}

/// 16 cradles streaming and nobody watching: the hub's cost while parents
/// sleep. Target: ≤ 6 % of one core.
pub(super) async fn idle16(args: &BenchArgs) -> Result<ScenarioResult> {
    let mut r = streaming(args, "idle16", 16, 0, 0).await?;
    r.notes
        .push("16 cradles at 10 fps, no viewers; target ≤ 6 % of one core".into());
    Ok(r)
}
