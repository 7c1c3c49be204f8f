//! `GET /metrics` in the Prometheus text format (0.0.4), written by the
//! Prometheus project's Rust client.
//!
//! Most figures are counters the hub keeps anyway (ingest, the MQTT
//! endpoint, the store, alerts) and state it holds (queue depth, open
//! connections, viewers): they are read at scrape time, so nothing on the
//! hot paths changes for them. Only HTTP requests by route are counted here,
//! and the store times its commits into a histogram (once per batch).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::alerts::Alerts;
use crate::alerts::engine::AlertType;
use crate::ingest::Ingest;
use crate::live::Live;
use crate::mqtt::MqttLink;
use crate::store::Store;

/// The `Content-Type` of what [`Metrics::render`] writes.
pub use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The `route` label of requests no API route matched: the web UI's files
/// and unknown paths alike, so scanners cannot add label values.
pub const FALLBACK_ROUTE: &str = "fallback";

/// What the scrape reads from.
pub struct Sources {
    pub ingest: Arc<Ingest>,
    pub store: Store,
    pub live: Arc<Live>,
    pub alerts: Arc<Alerts>,
    pub mqtt: MqttLink,
}

pub struct Metrics {
    registry: Registry,
    http: HttpRequests,
    token: Option<MetricsToken>,
}

impl Metrics {
    pub fn new(sources: Sources, token: Option<&str>) -> Metrics {
        let mut registry = Registry::default();
        let http = HttpRequests::default();
        registry.register(
            "cradle_hub_http_requests",
            "HTTP requests answered, by method, route (the router's pattern; `fallback` for the UI's files and unknown paths) and status",
            http.requests.clone(),
        );
        registry.register(
            "cradle_hub_store_commit_seconds",
            "Time each write batch held the database writer, from BEGIN to the end of COMMIT",
            sources.store.stats().commit_seconds.clone(),
        );
        registry.register_collector(Box::new(HubCollector(sources)));
        Metrics {
            registry,
            http,
            token: token.map(MetricsToken::new),
        }
    }

    pub fn http(&self) -> &HttpRequests {
        &self.http
    }

    /// Whether `presented` is the configured token (always false when none
    /// is configured).
    pub fn accepts_token(&self, presented: &str) -> bool {
        self.token.as_ref().is_some_and(|t| t.accepts(presented))
    }

    /// Every metric, as Prometheus scrapes it. Reads `/proc` on Linux: call
    /// it off the async runtime.
    pub fn render(&self) -> Result<String, fmt::Error> {
        let mut text = String::with_capacity(8 * 1024);
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// The bearer token that may read `/metrics`. Only its SHA-256 is kept, and
/// digests are compared in constant time, so neither the token's bytes nor
/// its length show in an answer's timing.
struct MetricsToken([u8; 32]);

impl MetricsToken {
    fn new(token: &str) -> MetricsToken {
        MetricsToken(digest(token))
    }

    fn accepts(&self, presented: &str) -> bool {
        self.0.ct_eq(&digest(presented)).into()
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// HTTP requests by method, route and status. Every label has a bounded set
/// of values: methods outside the standard ones count as `other`, paths as
/// the route pattern that matched them.
#[derive(Default)]
pub struct HttpRequests {
    requests: Family<HttpLabels, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: &'static str,
    route: String,
    status: u16,
}

impl HttpRequests {
    /// Counts one answered request. `route` is the pattern the router
    /// matched (`/api/agent_status/{uuid}`), `None` for the fallback.
    pub fn count(&self, method: &str, route: Option<&str>, status: u16) {
        let labels = HttpLabels {
            method: method_label(method),
            route: route.unwrap_or(FALLBACK_ROUTE).to_owned(),
            status,
        };
        self.requests.get_or_create(&labels).inc();
    }
}

fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
    ];
    KNOWN.into_iter().find(|m| *m == method).unwrap_or("other")
}

/// Reads the hub's own counters and state at each scrape.
struct HubCollector(Sources);

impl fmt::Debug for HubCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubCollector").finish_non_exhaustive()
    }
}

impl Collector for HubCollector {
    fn encode(&self, mut out: DescriptorEncoder) -> fmt::Result {
        let s = &self.0;
        let ingest = &s.ingest.counters;
        counter(
            &mut out,
            "cradle_hub_ingest_frames",
            "Camera frames taken in from cradles.",
            ingest.frames.load(Ordering::Relaxed),
        )?;
        counter(
            &mut out,
            "cradle_hub_ingest_readings",
            "Sensor readings (temperature, crying, direction) taken in and queued for the store.",
            ingest.readings.load(Ordering::Relaxed),
        )?;
        counters_by(
            &mut out,
            "cradle_hub_ingest_dropped",
            "MQTT messages dropped, by reason.",
            "reason",
            ingest.dropped_all(),
        )?;

        match &s.mqtt {
            MqttLink::Endpoint(server) => {
                let stats = server.stats();
                gauge(
                    &mut out,
                    "cradle_hub_mqtt_connections_open",
                    "Connections to the hub's MQTT endpoint open now (past CONNECT).",
                    server.connections() as i64,
                )?;
                counter(
                    &mut out,
                    "cradle_hub_mqtt_connections",
                    "Connections the hub's MQTT endpoint accepted (TCP, before CONNECT; how they ended is in cradle_hub_mqtt_closed_total).",
                    stats.accepted.load(Ordering::Relaxed),
                )?;
                counters_by(
                    &mut out,
                    "cradle_hub_mqtt_closed",
                    "MQTT endpoint connections ended, by reason.",
                    "reason",
                    stats.closed(),
                )?;
                counters_by(
                    &mut out,
                    "cradle_hub_mqtt_refused",
                    "Publishes and subscriptions the MQTT endpoint refused, by reason.",
                    "reason",
                    stats.refused(),
                )?;
            }
            MqttLink::Broker(client) => {
                gauge(
                    &mut out,
                    "cradle_hub_mqtt_broker_connected",
                    "1 while the hub is connected to the external MQTT broker.",
                    i64::from(client.is_connected()),
                )?;
                counter(
                    &mut out,
                    "cradle_hub_mqtt_broker_reconnects",
                    "Reconnections to the external MQTT broker.",
                    client.reconnects.load(Ordering::Relaxed),
                )?;
            }
        }
        gauge(
            &mut out,
            "cradle_hub_cradles_connected",
            "Cradles connected to the hub's MQTT endpoint now.",
            s.live.connected().0 as i64,
        )?;

        gauge(
            &mut out,
            "cradle_hub_live_viewers",
            "MJPEG live views open now.",
            s.live.viewers() as i64,
        )?;
        gauge(
            &mut out,
            "cradle_hub_event_streams",
            "Event streams open now (/api/events and the desktop app).",
            s.alerts.listening() as i64,
        )?;
        counters_by(
            &mut out,
            "cradle_hub_alerts_raised",
            "Alerts raised since the hub started, by type.",
            "type",
            AlertType::ALL.map(|t| (t.as_str(), s.alerts.raised_count(t))),
        )?;

        let store = &s.store;
        let stats = store.stats();
        gauge(
            &mut out,
            "cradle_hub_store_queue_depth",
            "Write jobs waiting for the database writer.",
            store.queued() as i64,
        )?;
        counter(
            &mut out,
            "cradle_hub_store_jobs",
            "Write jobs the database writer ran.",
            stats.jobs.load(Ordering::Relaxed),
        )?;
        counter(
            &mut out,
            "cradle_hub_store_batches",
            "Write batches (transactions) the database writer ran.",
            stats.batches.load(Ordering::Relaxed),
        )?;
        counter(
            &mut out,
            "cradle_hub_store_failed_jobs",
            "Write jobs that failed or whose batch did not commit.",
            stats.failed_jobs.load(Ordering::Relaxed),
        )?;
        gauge(
            &mut out,
            "cradle_hub_store_disk_full",
            "1 while writes fail for lack of disk space.",
            i64::from(store.disk_full()),
        )?;

        if let Some(bytes) = resident_bytes() {
            gauge(
                &mut out,
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                i64::try_from(bytes).unwrap_or(i64::MAX),
            )?;
        }
        Ok(())
    }
}

fn counter(out: &mut DescriptorEncoder, name: &str, help: &str, value: u64) -> fmt::Result {
    let metric = ConstCounter::new(value);
    metric.encode(out.encode_descriptor(name, help, None, metric.metric_type())?)
}

fn gauge(out: &mut DescriptorEncoder, name: &str, help: &str, value: i64) -> fmt::Result {
    let metric = ConstGauge::new(value);
    metric.encode(out.encode_descriptor(name, help, None, metric.metric_type())?)
}

/// One counter per value of `label`, zeros included, so a rate over any of
/// them is defined from the first scrape on.
fn counters_by(
    out: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    label: &'static str,
    values: impl IntoIterator<Item = (&'static str, u64)>,
) -> fmt::Result {
    let mut family = out.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (value, count) in values {
        ConstCounter::new(count).encode(family.encode_family(&[(label, value)])?)?;
    }
    Ok(())
}

/// The process's resident set size, from `/proc/self/status`.
#[cfg(target_os = "linux")]
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    vm_rss_bytes(&status)
}

/// No cheap, dependency-free source elsewhere: the metric is left out.
#[cfg(not(target_os = "linux"))]
fn resident_bytes() -> Option<u64> {
    None
}

/// `VmRSS:    12345 kB` → bytes.
#[cfg(any(target_os = "linux", test))]
fn vm_rss_bytes(status: &str) -> Option<u64> {
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .strip_suffix("kB")?
        .trim_end()
        .parse::<u64>()
        .ok()?;
    kib.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_memory_is_read_from_the_status_file() {
        let status = "Name:\tcradle-hub\nVmPeak:\t  90000 kB\nVmRSS:\t   12345 kB\nThreads:\t9\n";
        assert_eq!(vm_rss_bytes(status), Some(12345 * 1024));
        assert_eq!(vm_rss_bytes("Name:\tx\n"), None);
        assert_eq!(vm_rss_bytes("VmRSS:\tlots kB\n"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_a_resident_size() {
        assert!(resident_bytes().is_some_and(|b| b > 0));
    }

    #[test]
    fn only_the_configured_token_is_accepted() {
        let token = MetricsToken::new("s3cret-token");
        assert!(token.accepts("s3cret-token"));
        assert!(!token.accepts("s3cret-tokeN"));
        assert!(!token.accepts("s3cret"));
        assert!(!token.accepts(""));
    }

    #[test]
    fn methods_outside_the_standard_set_share_one_label() {
        assert_eq!(method_label("GET"), "GET");
        assert_eq!(method_label("PATCH"), "PATCH");
        assert_eq!(method_label("FOO"), "other");
        assert_eq!(method_label("get"), "other");
    }

    #[test]
    fn requests_are_counted_by_route_pattern_and_status() {
        let http = HttpRequests::default();
        http.count("GET", Some("/api/agent_status/{uuid}"), 200);
        http.count("GET", Some("/api/agent_status/{uuid}"), 200);
        http.count("GET", None, 404);
        http.count("BREW", None, 404);
        let mut registry = Registry::default();
        registry.register("requests", "Requests", http.requests.clone());
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &registry).unwrap();
        assert!(text.contains(
            r#"requests_total{method="GET",route="/api/agent_status/{uuid}",status="200"} 2"#
        ));
        assert!(text.contains(r#"requests_total{method="GET",route="fallback",status="404"} 1"#));
        assert!(text.contains(r#"requests_total{method="other",route="fallback",status="404"} 1"#));
    }
}
