//! The hub's MQTT client: subscribes to the cradle topics, hands every
//! publish to [`Ingest`], publishes servo commands, reconnects with capped
//! exponential backoff and resubscribes after every ConnAck (clean session).
//!
//! With Home Assistant discovery on, it also carries the hub's availability
//! (`online` after each connect, `offline` by its last will or at a clean
//! stop) and hands Home Assistant's messages to [`crate::ha::Bridge`]
//! without ever waiting for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use rumqttc::{AsyncClient, Event, LastWill, MqttOptions, Packet, QoS, SubscribeFilter};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::BrokerLogin;
use crate::ha::{self, discovery};
use crate::ingest::Ingest;
use crate::log_gate::LogGate;
use crate::mqtt::{SUBSCRIPTIONS, servo_topic};
use crate::timefmt::now_millis;

const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("not connected to the MQTT broker")]
    NotConnected,
    #[error("the MQTT client queue is full or closed: {0}")]
    Client(#[from] rumqttc::ClientError),
}

/// Handle the rest of the hub uses to publish and to see the connection state.
#[derive(Clone)]
pub struct MqttHandle {
    client: AsyncClient,
    connected: Arc<AtomicBool>,
    connected_rx: watch::Receiver<bool>,
    pub reconnects: Arc<AtomicU64>,
    pub broker: String,
}

impl MqttHandle {
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    /// Waits until the client is connected and subscribed, or the timeout.
    pub async fn wait_connected(&self, timeout: Duration) -> bool {
        let mut rx = self.connected_rx.clone();
        tokio::time::timeout(timeout, rx.wait_for(|c| *c))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    pub fn publish_servo(&self, uuid: &str, start: bool) -> Result<(), PublishError> {
        if !self.is_connected() {
            return Err(PublishError::NotConnected);
        }
        let payload = if start {
            br#"{"action": "start"}"#.as_slice()
        } else {
            br#"{"action": "stop"}"#.as_slice()
        };
        self.client
            .try_publish(servo_topic(uuid), QoS::AtLeastOnce, false, payload)
            .map_err(PublishError::from)
    }

    /// Queues a publish without waiting (Home Assistant's topics).
    pub fn publish(
        &self,
        topic: &str,
        qos: QoS,
        retain: bool,
        payload: impl Into<Vec<u8>>,
    ) -> Result<(), PublishError> {
        if !self.is_connected() {
            return Err(PublishError::NotConnected);
        }
        self.client
            .try_publish(topic, qos, retain, payload)
            .map_err(PublishError::from)
    }
}

/// Why a message for Home Assistant was dropped, for the log gate.
const HA_RETAINED: usize = 0;
const HA_BAD_COMMAND: usize = 1;
const HA_INBOX_FULL: usize = 2;

/// Hands Home Assistant's messages to the bridge: a full inbox or a bad
/// command is a logged drop, never a wait.
struct HaInbox {
    events: mpsc::Sender<ha::Event>,
    log_gate: LogGate<3>,
}

impl HaInbox {
    fn send(&self, event: ha::Event) {
        if self.events.try_send(event).is_err() {
            self.dropped(HA_INBOX_FULL, "ha: busy, message dropped");
        }
    }

    fn dropped(&self, reason: usize, what: &'static str) {
        if let Some(suppressed) = self.log_gate.admit(reason, now_millis()) {
            tracing::warn!(suppressed, "{what}");
        }
    }

    /// Takes the publish if it is one of Home Assistant's topics.
    fn take(&self, topic: &str, payload: &[u8], retained: bool) -> bool {
        match discovery::parse_inbound(topic, payload, retained) {
            None => return false,
            Some(Ok(inbound)) => self.send(ha::Event::Message(inbound)),
            Some(Err(discovery::Dropped::RetainedCommand)) => self.dropped(
                HA_RETAINED,
                "ha: retained rock command dropped (it would replay at every reconnect)",
            ),
            Some(Err(discovery::Dropped::BadCommand)) => self.dropped(
                HA_BAD_COMMAND,
                "ha: rock command dropped: the payload is neither ON nor OFF",
            ),
        }
        true
    }
}

/// Connects to `host:port` and runs the event loop on the runtime until
/// `stop` is cancelled (then it says DISCONNECT to the broker and ends).
/// `ha`: where Home Assistant's messages go, when discovery is on.
pub fn spawn(
    host: &str,
    port: u16,
    login: Option<&BrokerLogin>,
    max_payload: usize,
    ingest: Arc<Ingest>,
    ha: Option<mpsc::Sender<ha::Event>>,
    stop: CancellationToken,
) -> (MqttHandle, JoinHandle<()>) {
    let client_id = format!("cradle-hub-{:08x}", rand::random::<u32>());
    let mut options = MqttOptions::new(client_id, host, port);
    options
        .set_keep_alive(Duration::from_secs(15))
        .set_clean_session(true)
        // rumqttc's default (10 KiB) would reject every frame and reconnect;
        // outgoing, Home Assistant's camera stills are frames too.
        .set_max_packet_size(max_payload + 16 * 1024, max_payload + 16 * 1024)
        .set_inflight(100)
        .set_request_channel_capacity(256);
    if let Some(login) = login {
        options.set_credentials(
            login.username.clone(),
            login.password.clone().unwrap_or_default(),
        );
    }
    if ha.is_some() {
        // Retained, so Home Assistant shows the cradles unavailable even
        // if it starts after the hub went away.
        options.set_last_will(LastWill::new(
            discovery::HUB_STATUS_TOPIC,
            discovery::OFFLINE,
            QoS::AtLeastOnce,
            true,
        ));
    }
    let ha = ha.map(|events| HaInbox {
        events,
        log_gate: LogGate::default(),
    });
    let (client, mut eventloop) = AsyncClient::new(options, 256);
    let connected = Arc::new(AtomicBool::new(false));
    let (connected_tx, connected_rx) = watch::channel(false);
    let handle = MqttHandle {
        client: client.clone(),
        connected: connected.clone(),
        connected_rx,
        reconnects: Arc::new(AtomicU64::new(0)),
        broker: format!("{host}:{port}"),
    };
    let reconnects = handle.reconnects.clone();
    let broker = handle.broker.clone();

    let task = tokio::spawn(async move {
        let mut backoff = BACKOFF_START;
        let mut ever_connected = false;
        loop {
            let polled = tokio::select! {
                _ = stop.cancelled() => break,
                polled = eventloop.poll() => polled,
            };
            match polled {
                Ok(Event::Incoming(Packet::Publish(publish))) => {
                    if ha
                        .as_ref()
                        .is_some_and(|ha| ha.take(&publish.topic, &publish.payload, publish.retain))
                    {
                        continue;
                    }
                    ingest
                        .handle(&publish.topic, publish.payload, max_payload)
                        .await;
                }
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    backoff = BACKOFF_START;
                    let ha_filters = [
                        (discovery::BIRTH_TOPIC, QoS::AtLeastOnce),
                        // At most once: a motor command is never repeated.
                        (discovery::COMMAND_FILTER, QoS::AtMostOnce),
                    ];
                    let ha_filters = ha_filters.iter().filter(|_| ha.is_some());
                    let filters = SUBSCRIPTIONS
                        .iter()
                        .chain(ha_filters)
                        .map(|(t, q)| SubscribeFilter::new((*t).to_owned(), *q));
                    if let Err(e) = client.try_subscribe_many(filters) {
                        tracing::error!(error = %e, "mqtt: cannot queue subscriptions");
                    }
                    if ever_connected {
                        reconnects.fetch_add(1, Ordering::Relaxed);
                    }
                    ever_connected = true;
                    tracing::info!(broker, "mqtt: connected");
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    connected.store(true, Ordering::Release);
                    connected_tx.send_replace(true);
                    if let Some(ha) = &ha {
                        publish_availability(&client, discovery::ONLINE);
                        ha.send(ha::Event::Connected);
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    if connected.swap(false, Ordering::AcqRel) {
                        tracing::warn!(broker, error = %e, "mqtt: connection lost, reconnecting");
                    } else {
                        tracing::debug!(broker, error = %e, retry_in = ?backoff, "mqtt: cannot connect");
                    }
                    connected_tx.send_replace(false);
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
        // A clean goodbye, so the broker does not wait for the keepalive. A
        // clean DISCONNECT discards the last will: say `offline` first.
        if connected.swap(false, Ordering::AcqRel) {
            if ha.is_some() {
                publish_availability(&client, discovery::OFFLINE);
            }
            if client.try_disconnect().is_ok() {
                let _ = tokio::time::timeout(Duration::from_millis(200), async {
                    while eventloop.poll().await.is_ok() {}
                })
                .await;
            }
        }
        connected_tx.send_replace(false);
        tracing::debug!(broker, "mqtt: client stopped");
    });
    (handle, task)
}

/// The hub's availability for Home Assistant, retained.
fn publish_availability(client: &AsyncClient, payload: &'static str) {
    if let Err(e) = client.try_publish(discovery::HUB_STATUS_TOPIC, QoS::AtLeastOnce, true, payload)
    {
        tracing::warn!(error = %e, "ha: cannot publish the hub's availability");
    }
}
