//! `alerts16`: 16 cradles whose every reading is above their temperature
//! limit, so all of them alert at once and record; 16 viewers watch.
//! Every published frame should end up recorded.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::{Value, json};

use super::hub_process::{ProcMeter, hub_for};
use super::load::{ViewerStats, provision, publish_cradles, spawn_viewer};
use super::stats::fill_viewers;
use super::{BenchArgs, ScenarioResult};

pub(super) async fn alerts16(args: &BenchArgs) -> Result<ScenarioResult> {
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
    // The recording window is 60 s: stay inside it so every frame counts.
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
    fill_viewers(&mut r, &stats, secs);
    r.notes.push(format!(
        "{} alerts; every published frame should be recorded (window < 60 s)",
        alerts.len()
    ));
    stop.store(true, Ordering::Relaxed);
    Ok(r)
}
