//! `churn`: many short MQTT sessions, as cradles that reboot or lose Wi-Fi
//! make them: connect → publish one reading → disconnect, `--churn` times,
//! several at once. A hub that keeps something per session (a socket, a
//! task, a buffer) shows it in its open file descriptors and RSS after.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use parking_lot::Mutex;
use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};

use super::hub_process::{Hub, fd_count, hub_for, rss_mb};
use super::load::{hub_readings, provision};
use super::{BenchArgs, ScenarioResult};

/// Sessions in flight at once.
const PARALLEL: usize = 8;
/// Time for the hub to close sockets and free per-session state before the
/// "after" sample.
const SETTLE: Duration = Duration::from_secs(2);
/// A cycle that takes longer than this counts as failed.
const CYCLE_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) async fn churn(args: &BenchArgs) -> Result<ScenarioResult> {
    if args.churn == 0 {
        bail!("--churn must be at least 1");
    }
    let hub = Arc::new(hub_for(args).await?);
    let acct = provision(&hub, 4).await?;
    // The provisioning's HTTP connections and the hub's start-up are over
    // before "before" is taken.
    tokio::time::sleep(SETTLE).await;
    let readings_before = hub_readings(&hub).await?;
    let (rss_before, fds_before) = (hub.pid.and_then(rss_mb), hub.pid.and_then(fd_count));

    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(Mutex::new(None::<String>));
    let uuids = Arc::new(acct.uuids.clone());
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..PARALLEL.min(args.churn) {
        let (hub, next, done, first_error, uuids) = (
            hub.clone(),
            next.clone(),
            done.clone(),
            first_error.clone(),
            uuids.clone(),
        );
        let total = args.churn;
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let uuid = &uuids[i % uuids.len()];
                match tokio::time::timeout(CYCLE_TIMEOUT, cycle(&hub, uuid, i)).await {
                    Ok(Ok(())) => {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(Err(e)) => {
                        first_error.lock().get_or_insert_with(|| format!("{e:#}"));
                    }
                    Err(_) => {
                        first_error
                            .lock()
                            .get_or_insert_with(|| format!("a cycle took over {CYCLE_TIMEOUT:?}"));
                    }
                }
            }
        }));
    }
    for w in workers {
        w.await?;
    }
    let secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(SETTLE).await;
    let (rss_after, fds_after) = (hub.pid.and_then(rss_mb), hub.pid.and_then(fd_count));
    let readings = hub_readings(&hub).await?.saturating_sub(readings_before);
    let done = done.load(Ordering::Relaxed);

    let mut r = ScenarioResult {
        scenario: "churn".into(),
        cradles: acct.uuids.len(),
        seconds: secs,
        cycles: Some(done),
        hub_rss_mb_before: rss_before,
        hub_rss_mb_after: rss_after,
        fds_before,
        fds_after,
        hub_rss_mb_max: rss_before.into_iter().chain(rss_after).reduce(f64::max),
        ..Default::default()
    };
    r.notes.push(format!(
        "{done} of {} connect → publish → disconnect cycles ({:.0}/s, {PARALLEL} at once); \
         readings counted by the hub: {readings}",
        args.churn,
        done as f64 / secs
    ));
    r.notes.push(format!(
        "hub after {} s settle: RSS {} → {} MB, open fds {} → {}",
        SETTLE.as_secs(),
        super::fmt(rss_before, 1),
        super::fmt(rss_after, 1),
        fds_before.map_or("-".into(), |v| v.to_string()),
        fds_after.map_or("-".into(), |v| v.to_string()),
    ));
    if let Some(e) = first_error.lock().take() {
        r.notes.push(format!(
            "{} cycles failed; first error: {e}",
            args.churn as u64 - done
        ));
    }
    if done == 0 {
        return Err(anyhow!("no cycle completed"));
    }
    Ok(r)
}

/// One session. Every other one connects with an empty client id, as the
/// real cradles' MQTT library does by default; the server must assign one.
async fn cycle(hub: &Hub, uuid: &str, i: usize) -> Result<()> {
    let id = if i.is_multiple_of(2) {
        String::new()
    } else {
        format!("bench-churn-{i}-{:x}", rand::random::<u32>())
    };
    let mut options = MqttOptions::new(id, hub.mqtt_host.clone(), hub.mqtt_port);
    options.set_keep_alive(Duration::from_secs(60));
    let (client, mut eventloop) = AsyncClient::new(options, 4);
    // QoS 0 like the firmware: the hub's ingest counter tells what arrived.
    client
        .publish(
            format!("cradle/{uuid}/temperature"),
            QoS::AtMostOnce,
            false,
            format!(r#"{{"temperature": "36.{}"}}"#, i % 10),
        )
        .await?;
    let mut connected = false;
    loop {
        match eventloop.poll().await? {
            Event::Incoming(Packet::ConnAck(_)) => connected = true,
            Event::Outgoing(Outgoing::Publish(_)) if connected => break,
            _ => {}
        }
    }
    client.disconnect().await?;
    loop {
        if let Event::Outgoing(Outgoing::Disconnect) = eventloop.poll().await? {
            break;
        }
    }
    // Dropping the event loop closes the socket.
    Ok(())
}
