//! `rest`: 16 keep-alive connections polling `/api/agent_status` as fast as
//! they can while 4 cradles stream to 8 viewers.

use std::time::{Duration, Instant};

use anyhow::Result;

use super::stats::fill_latency;
use super::streaming::StreamingLoad;
use super::{BenchArgs, ScenarioResult};

pub(super) async fn rest(args: &BenchArgs) -> Result<ScenarioResult> {
    let load = StreamingLoad::start(args, 4, 8, 0).await?;
    let (hub, acct) = (&load.hub, &load.acct);
    tokio::time::sleep(Duration::from_secs(args.warmup)).await;
    let meter = super::hub_process::ProcMeter::start(hub.pid);
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
    r.notes.push(format!(
        "{connections} connections on /api/agent_status during 4x8 streaming; latency is per request"
    ));
    Ok(r)
}
