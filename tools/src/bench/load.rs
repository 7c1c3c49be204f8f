//! The load itself, as cradles and phones make it: an account owning N
//! cradles, cradles publishing at 10 fps over MQTT, MJPEG viewers that time
//! each frame, and a viewer that never reads.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Result, anyhow, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::StreamExt;
use parking_lot::Mutex;
use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, QoS};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use super::hub_process::Hub;

/// An account with N claimed cradles, logged in.
pub(super) struct Account {
    pub http: reqwest::Client,
    pub cookie: String,
    pub uuids: Vec<String>,
}

pub(super) async fn provision(hub: &Hub, cradles: usize) -> Result<Account> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let name = format!("bench-{:x}", rand::random::<u32>());
    let register = http
        .post(format!("{}/register", hub.url))
        .json(&json!({"username": name, "password": "bench-password"}))
        .send()
        .await?;
    if !register.status().is_success() {
        bail!("register: {}", register.status());
    }
    let login = http
        .post(format!("{}/login", hub.url))
        .json(&json!({"username": name, "password": "bench-password"}))
        .send()
        .await?;
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or_else(|| anyhow!("login set no cookie"))?
        .to_owned();
    let mut uuids = Vec::new();
    for i in 0..cradles {
        let uuid = format!("{name}-cradle-{i}");
        http.post(format!("{}/register_agent", hub.url))
            .json(&json!({"uuid": uuid, "ip": "127.0.0.1"}))
            .send()
            .await?
            .error_for_status()?;
        http.post(format!("{}/register_cradle", hub.url))
            .header("cookie", &cookie)
            .json(&json!({"cradle_uuid": uuid}))
            .send()
            .await?
            .error_for_status()?;
        uuids.push(uuid);
    }
    Ok(Account {
        http,
        cookie,
        uuids,
    })
}

pub(super) async fn hub_health(hub: &Hub) -> Result<Value> {
    Ok(reqwest::get(format!("{}/health", hub.url))
        .await?
        .json()
        .await?)
}

/// Readings the hub has ingested so far (its `/health` counter).
pub(super) async fn hub_readings(hub: &Hub) -> Result<u64> {
    hub_health(hub).await?["ingest"]["readings"]
        .as_u64()
        .ok_or_else(|| anyhow!("no ingest counter"))
}

fn unix_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// Inserts a COM segment right after SOI: `cradle-bench <seq> <send nanos>`.
/// The hub passes a cradle's JPEG through untouched, so the viewer can read
/// the send time back.
fn stamp(jpeg: &[u8], seq: u64) -> Vec<u8> {
    let text = format!("cradle-bench {seq} {}", unix_nanos());
    let len = (text.len() + 2) as u16;
    let mut out = Vec::with_capacity(jpeg.len() + text.len() + 4);
    out.extend_from_slice(&jpeg[..2]);
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// Send time of a stamped frame, if the hub passed it through.
fn stamped_nanos(jpeg: &[u8]) -> Option<u128> {
    if jpeg.len() < 6 || jpeg[2..4] != [0xFF, 0xFE] {
        return None;
    }
    let len = u16::from_be_bytes([jpeg[4], jpeg[5]]) as usize;
    let text = std::str::from_utf8(jpeg.get(6..4 + len)?).ok()?;
    text.strip_prefix("cradle-bench ")?
        .split(' ')
        .nth(1)?
        .parse()
        .ok()
}

/// An MQTT client whose event loop runs in the background until the client
/// disconnects or is dropped (rumqttc would otherwise reconnect forever).
pub(super) fn mqtt_client(hub: &Hub, id: &str) -> AsyncClient {
    let mut options = MqttOptions::new(id, hub.mqtt_host.clone(), hub.mqtt_port);
    options
        .set_max_packet_size(64 * 1024, 1024 * 1024)
        .set_keep_alive(Duration::from_secs(30))
        .set_inflight(200);
    let (client, mut eventloop) = AsyncClient::new(options, 1024);
    tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(Event::Outgoing(Outgoing::Disconnect))
                | Err(rumqttc::ConnectionError::RequestsDone) => break,
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    client
}

/// Cradles publishing in the background; they stop (and disconnect) when
/// this is dropped.
pub(super) struct Publishers {
    stop: Arc<AtomicBool>,
    pub frames: Arc<AtomicU64>,
}

impl Publishers {
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Drop for Publishers {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Plays the cradles as PROTOCOL.md describes: a frame and a direction every
/// 1/fps s, temperature every second, crying every 3 s.
pub(super) async fn publish_cradles(
    hub: &Hub,
    uuids: &[String],
    fps: u32,
    temperature: &'static str,
) -> Result<Publishers> {
    let pool = tokio::task::spawn_blocking(crate::simulator::shared_pool)
        .await?
        .map_err(|e| anyhow!(e))?;
    let stop = Arc::new(AtomicBool::new(false));
    let frames = Arc::new(AtomicU64::new(0));
    for (i, uuid) in uuids.iter().enumerate() {
        let client = mqtt_client(hub, &format!("bench-pub-{i}-{:x}", rand::random::<u32>()));
        let (uuid, pool, stop, frames) = (uuid.clone(), pool.clone(), stop.clone(), frames.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(fps)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let mut seq = 0u64;
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                seq += 1;
                let jpeg = stamp(&pool.still[seq as usize % pool.still.len()], seq);
                let payload = format!(
                    r#"{{"frame": "{}", "timestamp": "2026-11-22 20:56:17"}}"#,
                    STANDARD.encode(&jpeg)
                );
                if client
                    .publish(
                        format!("cradle/{uuid}/frame"),
                        QoS::AtMostOnce,
                        false,
                        payload,
                    )
                    .await
                    .is_ok()
                {
                    frames.fetch_add(1, Ordering::Relaxed);
                }
                let _ = client
                    .publish(
                        format!("cradle/{uuid}/direction"),
                        QoS::AtMostOnce,
                        false,
                        r#"{"direction": "정면 유지 중", "timestamp": "2026-11-22 20:56:17"}"#,
                    )
                    .await;
                if seq.is_multiple_of(u64::from(fps)) {
                    let _ = client
                        .publish(
                            format!("cradle/{uuid}/temperature"),
                            QoS::AtMostOnce,
                            false,
                            format!(r#"{{"temperature": "{temperature}"}}"#),
                        )
                        .await;
                }
                if seq.is_multiple_of(u64::from(fps) * 3) {
                    let _ = client
                        .publish(
                            format!("cradle/{uuid}/crying"),
                            QoS::AtMostOnce,
                            false,
                            r#"{"status": "Silent", "probability": 0.1}"#,
                        )
                        .await;
                }
            }
            let _ = client.disconnect().await;
        });
    }
    Ok(Publishers { stop, frames })
}

#[derive(Default)]
pub(super) struct ViewerStats {
    pub frames: AtomicU64,
    pub latencies_us: Mutex<Vec<u64>>,
    pub measuring: AtomicBool,
}

/// An MJPEG viewer counting frames and publish→receipt latency while
/// `stats.measuring` is set; it leaves when `stop` is set.
pub(super) fn spawn_viewer(
    acct: &Account,
    url: String,
    stats: Arc<ViewerStats>,
    stop: Arc<AtomicBool>,
) {
    let (http, cookie) = (acct.http.clone(), acct.cookie.clone());
    tokio::spawn(async move {
        let Ok(res) = http.get(&url).header("cookie", cookie).send().await else {
            return;
        };
        let mut body = res.bytes_stream();
        let mut buf: Vec<u8> = Vec::with_capacity(256 * 1024);
        while !stop.load(Ordering::Relaxed) {
            // Parse as many complete parts as the buffer holds.
            while let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let Some(len) = head
                    .lines()
                    .find_map(|l| l.strip_prefix("Content-Length: "))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                else {
                    return;
                };
                let start = head_end + 4;
                if buf.len() < start + len + 2 {
                    break;
                }
                if stats.measuring.load(Ordering::Relaxed) {
                    stats.frames.fetch_add(1, Ordering::Relaxed);
                    if let Some(sent) = stamped_nanos(&buf[start..start + len]) {
                        let us = (unix_nanos().saturating_sub(sent) / 1000) as u64;
                        stats.latencies_us.lock().push(us);
                    }
                }
                buf.drain(..start + len + 2);
            }
            match tokio::time::timeout(Duration::from_secs(5), body.next()).await {
                Ok(Some(Ok(chunk))) => buf.extend_from_slice(&chunk),
                _ => return,
            }
        }
    });
}

/// A viewer that connects, asks for the stream and never reads.
pub(super) async fn stuck_viewer(
    hub: &Hub,
    uuid: &str,
    cookie: &str,
) -> Result<tokio::net::TcpStream> {
    let addr = hub.url.trim_start_matches("http://").to_owned();
    let mut s = tokio::net::TcpStream::connect(&addr).await?;
    s.write_all(
        format!("GET /stream/{uuid} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\n\r\n")
            .as_bytes(),
    )
    .await?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_round_trip() {
        let jpeg = [0xFF, 0xD8, 0xFF, 0xDB, 0, 4, 1, 2];
        let stamped = stamp(&jpeg, 7);
        assert_eq!(&stamped[..2], &[0xFF, 0xD8]);
        assert!(stamped.ends_with(&jpeg[2..]));
        let sent = stamped_nanos(&stamped).unwrap();
        assert!(unix_nanos() >= sent);
        assert_eq!(stamped_nanos(&jpeg), None);
    }
}
