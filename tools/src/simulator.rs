//! Simulated cradles that speak exactly what real firmware sends
//! (PROTOCOL.md): frames at ~10 fps with a visibly moving picture, direction
//! with every frame, crying every 3 s, temperature as a string every second.
//! They register over HTTP like a real cradle and react to servo commands.

use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};
use parking_lot::Mutex;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::json;
use tokio::task::JoinHandle;

use crate::protocol::{parse_mqtt_url, servo_topic};

#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// The hub's HTTP address, for `/register_agent`.
    #[arg(long, env = "CRADLE_HUB_URL", default_value = "http://127.0.0.1:8080")]
    pub hub_url: String,
    /// The MQTT broker the cradles publish to.
    #[arg(long, default_value = "mqtt://127.0.0.1:1883")]
    pub mqtt_url: String,
    /// How many cradles to simulate (named <prefix>-1, <prefix>-2, ...).
    #[arg(long, default_value_t = 1)]
    pub cradles: usize,
    #[arg(long, default_value = "sim-cradle")]
    pub prefix: String,
    /// Explicit cradle ids instead of <prefix>-N (repeatable).
    #[arg(long = "uuid")]
    pub uuids: Vec<String>,
    /// Frames per second per cradle.
    #[arg(long, default_value_t = 10.0)]
    pub fps: f64,
    /// Also send junk now and then (invalid JSON, bad base64, "nan", stray topics).
    #[arg(long)]
    pub junk: bool,
    /// Do not call `/register_agent` (like a cradle with the wrong hub address).
    #[arg(long)]
    pub no_register: bool,
    #[command(flatten)]
    pub faults: Faults,
    /// Faults per cradle, by index, instead of `faults` (the demo's story).
    #[arg(skip)]
    pub faults_per_cradle: Vec<Faults>,
}

/// Failures to play, so each of the hub's safety rules can be watched.
/// Times count from the cradle's start, in seconds.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Faults {
    /// Lose power after this many seconds: send nothing, close the connection.
    #[arg(long, value_name = "SECS")]
    pub go_silent_after: Option<u64>,
    /// With --go-silent-after: come back after this long (default: never).
    #[arg(long, value_name = "SECS")]
    pub silent_for: Option<u64>,
    /// The camera stops after this many seconds; the sensors go on.
    #[arg(long, value_name = "SECS")]
    pub camera_dies_after: Option<u64>,
    /// With --camera-dies-after: the camera comes back after this long (default: never).
    #[arg(long, value_name = "SECS")]
    pub camera_off_for: Option<u64>,
    /// The thermometer sends "nan" instead of a temperature.
    #[arg(long)]
    pub nan_temperature: bool,
    /// The baby cries for this long (from --cry-after on).
    #[arg(long, value_name = "SECS")]
    pub cry_for: Option<u64>,
    /// With --cry-for: when the crying starts.
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    pub cry_after: u64,
    /// With --cry-for: rocking this long calms the baby (default: it does not).
    #[arg(long, value_name = "SECS")]
    pub calms_after_rocking: Option<u64>,
}

impl Faults {
    fn camera_off(&self, second: u64) -> bool {
        window(self.camera_dies_after, self.camera_off_for, second)
    }
    fn silent(&self, second: u64) -> bool {
        window(self.go_silent_after, self.silent_for, second)
    }
    fn crying_spell(&self, second: u64) -> bool {
        self.cry_for
            .is_some_and(|len| second >= self.cry_after && second < self.cry_after + len)
    }
}

/// Inside [start, start + length) (forever without a length).
fn window(start: Option<u64>, length: Option<u64>, second: u64) -> bool {
    start.is_some_and(|s| second >= s && length.is_none_or(|l| second < s + l))
}

impl SimulateArgs {
    pub fn uuids(&self) -> Vec<String> {
        if self.uuids.is_empty() {
            (1..=self.cradles)
                .map(|i| format!("{}-{i}", self.prefix))
                .collect()
        } else {
            self.uuids.clone()
        }
    }
}

/// What a simulated cradle reports. `auto` lets it wander on its own
/// (demo); tests set fixed values.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub auto: bool,
    pub temperature: f64,
    pub crying: bool,
    pub direction: String,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            auto: true,
            temperature: 36.8,
            crying: false,
            direction: "정면 유지 중".into(),
        }
    }
}

pub struct SimCradle {
    pub uuid: String,
    pub scenario: Mutex<Scenario>,
    pub rocking: std::sync::atomic::AtomicBool,
    /// Servo actions received, in order.
    pub servo_log: Mutex<Vec<String>>,
}

impl SimCradle {
    /// Stops the automatic wandering and reports these values from now on.
    pub fn set(&self, f: impl FnOnce(&mut Scenario)) {
        let mut s = self.scenario.lock();
        s.auto = false;
        f(&mut s);
    }
}

pub struct Simulator {
    pub cradles: Vec<Arc<SimCradle>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Simulator {
    pub fn cradle(&self, uuid: &str) -> Option<&Arc<SimCradle>> {
        self.cradles.iter().find(|c| c.uuid == uuid)
    }
    pub fn stop(self) {
        for t in self.tasks {
            t.abort();
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    MqttUrl(#[from] crate::protocol::BadMqttUrl),
    #[error("rendering frames failed: {0}")]
    Render(String),
}

/// Starts the cradles in the background.
pub async fn start(args: &SimulateArgs) -> Result<Simulator, SimError> {
    let (host, port) = parse_mqtt_url(&args.mqtt_url)?;
    let pool = tokio::task::spawn_blocking(shared_pool)
        .await
        .map_err(|e| SimError::Render(e.to_string()))?
        .map_err(SimError::Render)?;
    let mut sim = Simulator {
        cradles: Vec::new(),
        tasks: Vec::new(),
    };
    for (i, uuid) in args.uuids().into_iter().enumerate() {
        let cradle = Arc::new(SimCradle {
            uuid,
            scenario: Mutex::new(Scenario {
                temperature: 36.6 + 0.2 * i as f64,
                ..Scenario::default()
            }),
            rocking: Default::default(),
            servo_log: Mutex::new(Vec::new()),
        });
        if !args.no_register {
            register(&args.hub_url, &cradle.uuid).await;
        }
        let faults = args
            .faults_per_cradle
            .get(i)
            .unwrap_or(&args.faults)
            .clone();
        let task = tokio::spawn(run_cradle(
            cradle.clone(),
            Link {
                host: host.clone(),
                port,
            },
            args.fps,
            args.junk,
            faults,
            pool.clone(),
            i,
        ));
        sim.cradles.push(cradle);
        sim.tasks.push(task);
    }
    Ok(sim)
}

async fn register(hub_url: &str, uuid: &str) {
    let client = reqwest::Client::new();
    let url = format!("{}/register_agent", hub_url.trim_end_matches('/'));
    for attempt in 1..=5 {
        match client
            .post(&url)
            .json(&json!({"uuid": uuid, "ip": "127.0.0.1"}))
            .timeout(Duration::from_secs(5))
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => return,
            Ok(r) => {
                tracing::warn!(uuid, status = %r.status(), "simulator: register_agent refused")
            }
            Err(e) => tracing::warn!(uuid, attempt, error = %e, "simulator: register_agent failed"),
        }
        tokio::time::sleep(Duration::from_millis(300 * attempt)).await;
    }
    // Real cradles carry on publishing when registration fails.
}

pub(crate) struct FramePool {
    pub still: Vec<Bytes>,
    pub rocking: Vec<Bytes>,
}

const POOL_FRAMES: usize = 20;

/// Rendered once per process: every simulated cradle shares the pool.
pub(crate) fn shared_pool() -> Result<Arc<FramePool>, String> {
    static POOL: std::sync::OnceLock<Result<Arc<FramePool>, String>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| render_pool().map(Arc::new).map_err(|e| e.to_string()))
        .clone()
}

fn render_pool() -> Result<FramePool, image::ImageError> {
    let mut still = Vec::with_capacity(POOL_FRAMES);
    let mut rocking = Vec::with_capacity(POOL_FRAMES);
    for i in 0..POOL_FRAMES {
        still.push(encode(&render_frame(i, false))?);
        rocking.push(encode(&render_frame(i, true))?);
    }
    Ok(FramePool { still, rocking })
}

fn encode(img: &RgbImage) -> Result<Bytes, image::ImageError> {
    let mut out = Cursor::new(Vec::with_capacity(64 * 1024));
    JpegEncoder::new_with_quality(&mut out, 80).encode_image(img)?;
    Ok(Bytes::from(out.into_inner()))
}

/// A dim nursery: a blanket gradient with sensor-like noise (so JPEGs have
/// real-camera sizes), a sleeping baby that breathes, and when rocking the
/// scene sways and a red bar says so.
fn render_frame(i: usize, rocking: bool) -> RgbImage {
    let (w, h) = (640u32, 480u32);
    let phase = i as f64 / POOL_FRAMES as f64 * std::f64::consts::TAU;
    let sway = if rocking {
        (phase.sin() * 40.0) as i64
    } else {
        0
    };
    let breathe = 1.0 + 0.04 * phase.sin();
    let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ (i as u64 * 7919);
    let mut img = RgbImage::new(w, h);
    let (cx, cy) = (320.0 + sway as f64, 250.0);
    for (x, y, px) in img.enumerate_pixels_mut() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let noise = (seed % 24) as i64 - 12;
        let base = 60 + (y as i64 * 50 / h as i64) + ((x as i64 + sway) / 40 % 2) * 6;
        let (dx, dy) = (
            (x as f64 - cx) / (120.0 * breathe),
            (y as f64 - cy) / (90.0 * breathe),
        );
        let (dhx, dhy) = ((x as f64 - cx) / 55.0, (y as f64 - (cy - 110.0)) / 55.0);
        let (r, g, b) = if dhx * dhx + dhy * dhy < 1.0 {
            (225, 180, 150)
        } else if dx * dx + dy * dy < 1.0 {
            (150, 170, 215)
        } else {
            (base + 10, base, base + 25)
        };
        let clamp = |v: i64| (v + noise).clamp(0, 255) as u8;
        *px = Rgb([clamp(r), clamp(g), clamp(b)]);
    }
    if rocking {
        for y in 0..24 {
            for x in 0..w {
                let stripe = ((x as usize + i * 8) / 16).is_multiple_of(2);
                img.put_pixel(
                    x,
                    y,
                    if stripe {
                        Rgb([220, 40, 40])
                    } else {
                        Rgb([250, 250, 250])
                    },
                );
            }
        }
    }
    img
}

fn local_timestamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

struct Link {
    host: String,
    port: u16,
}

/// Connects as the cradle and listens to its servo topic; the connection
/// closes when the returned guard drops.
fn connect(cradle: &Arc<SimCradle>, link: &Link) -> (AsyncClient, AbortOnDrop) {
    use std::sync::atomic::Ordering;
    let mut options = MqttOptions::new(
        format!(
            "sim-{}-{:06x}",
            cradle.uuid,
            rand::random::<u32>() & 0xFF_FFFF
        ),
        link.host.clone(),
        link.port,
    );
    options
        .set_keep_alive(Duration::from_secs(15))
        .set_max_packet_size(64 * 1024, 1024 * 1024)
        .set_request_channel_capacity(64);
    let (client, mut eventloop) = AsyncClient::new(options, 64);
    let servo_topic = servo_topic(&cradle.uuid);
    let listener = {
        let cradle = cradle.clone();
        let client = client.clone();
        tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        // Never wait on the request channel here: this task is
                        // the only one draining it, and after a hub restart it
                        // is full of frames queued while offline, so waiting
                        // stalled the cradle for good.
                        let client = client.clone();
                        let topic = servo_topic.clone();
                        tokio::spawn(async move {
                            let _ = client.subscribe(topic, QoS::AtMostOnce).await;
                        });
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) if p.topic == servo_topic => {
                        let action = serde_json::from_slice::<serde_json::Value>(&p.payload)
                            .ok()
                            .and_then(|v| {
                                v.get("action").and_then(|a| a.as_str()).map(str::to_owned)
                            })
                            .unwrap_or_default();
                        tracing::info!(uuid = cradle.uuid, action, "simulator: servo command");
                        match action.as_str() {
                            "start" => cradle.rocking.store(true, Ordering::Relaxed),
                            "stop" => cradle.rocking.store(false, Ordering::Relaxed),
                            _ => {}
                        }
                        cradle.servo_log.lock().push(action);
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
                }
            }
        })
    };
    (client, AbortOnDrop(listener))
}

async fn run_cradle(
    cradle: Arc<SimCradle>,
    link: Link,
    fps: f64,
    junk: bool,
    faults: Faults,
    pool: Arc<FramePool>,
    index: usize,
) {
    use std::sync::atomic::Ordering;
    let started = tokio::time::Instant::now();
    let mut connection = Some(connect(&cradle, &link));
    let period = Duration::from_secs_f64(1.0 / fps.clamp(0.1, 100.0));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let frames_per_sec = fps.round().max(1.0) as u64;
    let mut n: u64 = index as u64 * 3;
    let mut rng_state = 0x2545_F491_4F6C_DD1Du64 ^ (index as u64 + 1);
    let mut rocked_since: Option<tokio::time::Instant> = None;
    let mut calmed = false;
    loop {
        tick.tick().await;
        let second = started.elapsed().as_secs();
        if faults.silent(second) {
            if connection.take().is_some() {
                tracing::info!(uuid = cradle.uuid, "simulator: power lost (silent)");
            }
            continue;
        }
        let client = match &connection {
            Some((client, _)) => client.clone(),
            None => {
                tracing::info!(uuid = cradle.uuid, "simulator: power back");
                let (client, guard) = connect(&cradle, &link);
                connection = Some((client.clone(), guard));
                client
            }
        };
        n += 1;
        let rocking = cradle.rocking.load(Ordering::Relaxed);
        rocked_since = if rocking {
            Some(rocked_since.unwrap_or_else(tokio::time::Instant::now))
        } else {
            None
        };
        let ts = local_timestamp();
        let topic = |kind: &str| format!("cradle/{}/{kind}", cradle.uuid);
        if !faults.camera_off(second) {
            let frames = if rocking { &pool.rocking } else { &pool.still };
            let jpeg = &frames[(n as usize) % frames.len()];
            let frame = json!({"frame": STANDARD.encode(jpeg), "timestamp": ts}).to_string();
            let _ = client.try_publish(topic("frame"), QoS::AtMostOnce, false, frame);
        }

        let mut scenario = {
            let mut s = cradle.scenario.lock();
            if s.auto {
                wander(&mut s, n / frames_per_sec, &mut rng_state);
            }
            s.clone()
        };
        if faults.cry_for.is_some() {
            let spell = faults.crying_spell(second);
            if let (Some(need), Some(since)) = (faults.calms_after_rocking, rocked_since)
                && since.elapsed().as_secs() >= need
            {
                calmed = true;
            }
            if !spell {
                calmed = false;
            }
            scenario.crying = spell && !calmed;
        }
        let _ = client.try_publish(
            topic("direction"),
            QoS::AtMostOnce,
            false,
            json!({"direction": scenario.direction, "timestamp": ts}).to_string(),
        );
        if n.is_multiple_of(frames_per_sec) {
            let value = if faults.nan_temperature {
                "nan".to_owned()
            } else {
                format!("{:.1}", scenario.temperature)
            };
            let t = json!({ "temperature": value }).to_string();
            let _ = client.try_publish(topic("temperature"), QoS::AtMostOnce, false, t);
        }
        if n.is_multiple_of(frames_per_sec * 3) {
            let status = if scenario.crying { "Crying" } else { "Silent" };
            let probability = if scenario.crying { 0.91 } else { 0.04 };
            let c =
                json!({"status": status, "probability": probability, "timestamp": ts}).to_string();
            let _ = client.try_publish(topic("crying"), QoS::AtMostOnce, false, c);
        }
        if junk && n.is_multiple_of(frames_per_sec * 2) {
            let (kind, payload): (&str, Vec<u8>) = match (n / (frames_per_sec * 2)) % 5 {
                0 => ("temperature", br#"{"temperature": "nan"}"#.to_vec()),
                1 => ("frame", br#"{"frame": "not base64 at all!"}"#.to_vec()),
                2 => ("crying", b"{not json".to_vec()),
                3 => ("frame/extra", br#"{"frame": ""}"#.to_vec()),
                _ => (
                    "frame",
                    format!(r#"{{"frame":"{}"}}"#, STANDARD.encode(b"GIF89a....")).into_bytes(),
                ),
            };
            let _ = client.try_publish(topic(kind), QoS::AtMostOnce, false, payload);
        }
    }
}

/// The demo's story: temperature drifts, a crying spell every few minutes,
/// now and then the baby turns away.
fn wander(s: &mut Scenario, second: u64, rng: &mut u64) {
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    let step = ((*rng % 1000) as f64 / 1000.0 - 0.5) * 0.02;
    s.temperature = (s.temperature + step).clamp(36.2, 37.6);
    s.crying = second % 240 >= 180;
    s.direction = match second % 120 {
        60..=69 => "좌측으로 움직임",
        70..=71 => "확인 중...",
        100..=104 => "우측으로 움직임",
        _ => "정면 유지 중",
    }
    .to_owned();
}

struct AbortOnDrop(JoinHandle<()>);
impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `cradle-hub simulate`: runs until Ctrl-C.
pub async fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let sim = start(&args).await?;
    tracing::info!(
        cradles = ?sim.cradles.iter().map(|c| c.uuid.as_str()).collect::<Vec<_>>(),
        mqtt = args.mqtt_url,
        "simulator: running (Ctrl-C to stop)"
    );
    tokio::signal::ctrl_c().await?;
    sim.stop();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_windows() {
        let f = Faults {
            go_silent_after: Some(10),
            silent_for: Some(5),
            camera_dies_after: Some(3),
            cry_for: Some(4),
            cry_after: 2,
            ..Faults::default()
        };
        assert!(!f.silent(9) && f.silent(10) && f.silent(14) && !f.silent(15));
        assert!(
            !f.camera_off(2) && f.camera_off(3) && f.camera_off(10_000),
            "never back"
        );
        assert!(!f.crying_spell(1) && f.crying_spell(2) && f.crying_spell(5) && !f.crying_spell(6));
        assert!(!Faults::default().silent(100));
    }
}
