//! `burst`: `--burst` temperature readings at QoS 1, split over four cradles
//! publishing at once, as fast as their connections take them; stored/s,
//! and lost = sent − stored, where stored is what the hub's API returns.

use std::time::{Duration, Instant};

use anyhow::Result;
use rumqttc::QoS;
use serde_json::Value;

use super::hub_process::{ProcMeter, hub_for};
use super::load::{hub_health, mqtt_client, provision};
use super::{BenchArgs, ScenarioResult};
use crate::protocol::{format_millis, now_millis};

const CRADLES: usize = 4;

pub(super) async fn burst(args: &BenchArgs) -> Result<ScenarioResult> {
    let hub = hub_for(args).await?;
    let acct = provision(&hub, CRADLES).await?;
    let jobs_before = hub_health(&hub).await?["store"]["jobs"]
        .as_u64()
        .unwrap_or(0);
    let meter = ProcMeter::start(hub.pid);
    let started = Instant::now();
    let window_start = now_millis() - 1000;
    let per_cradle = args.burst.div_ceil(CRADLES);
    let mut publishers = tokio::task::JoinSet::new();
    let mut clients = Vec::new();
    for (n, uuid) in acct.uuids.iter().enumerate() {
        let client = mqtt_client(
            &hub,
            &format!("bench-burst-{n}-{:x}", rand::random::<u32>()),
        );
        clients.push(client.clone());
        let topic = format!("cradle/{uuid}/temperature");
        let count = per_cradle.min(args.burst.saturating_sub(n * per_cradle));
        publishers.spawn(async move {
            for i in 0..count {
                let payload = format!(
                    r#"{{"temperature": "{:.1}"}}"#,
                    35.0 + (i % 30) as f64 / 10.0
                );
                client
                    .publish(topic.clone(), QoS::AtLeastOnce, false, payload)
                    .await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(published) = publishers.join_next().await {
        published??;
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
        cradles: CRADLES,
        seconds: secs,
        ..Default::default()
    };
    meter.finish(&mut r);
    let end = now_millis() + 1000;
    let mut stored = 0;
    for uuid in &acct.uuids {
        let rows: Vec<Value> = acct
            .http
            .get(format!("{}/api/sensor_data/{uuid}", hub.url))
            .query(&[
                ("start_date", format_millis(window_start)),
                ("end_date", format_millis(end)),
            ])
            .header("cookie", &acct.cookie)
            .send()
            .await?
            .json()
            .await?;
        stored += rows.iter().filter(|r| !r["temperature"].is_null()).count() as u64;
    }
    r.stored_per_sec = Some(stored as f64 / secs);
    r.lost = Some((args.burst as u64).saturating_sub(stored));
    r.notes.push(format!(
        "{} messages at QoS 1; {stored} returned by /api/sensor_data",
        args.burst
    ));
    for client in clients {
        let _ = client.disconnect().await;
    }
    Ok(r)
}
