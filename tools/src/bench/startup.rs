//! `startup`: time from spawning the hub on an empty data folder until it
//! answers `/health` and accepts MQTT connections; median of 5 starts.

use std::time::Duration;

use anyhow::Result;

use super::ScenarioResult;
use super::hub_process::start_hub;

pub(super) async fn startup() -> Result<ScenarioResult> {
    let mut times = Vec::new();
    for _ in 0..5 {
        let (hub, ready) = start_hub(None).await?;
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
