//! The hub's MQTT client: subscribes to the cradle topics, hands every
//! publish to [`Ingest`], publishes servo commands, reconnects with capped
//! exponential backoff and resubscribes after every ConnAck (clean session).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS, SubscribeFilter};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::ingest::Ingest;
use crate::mqtt::{SUBSCRIPTIONS, servo_topic};

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
}

/// Connects to `host:port` and runs the event loop on the runtime until
/// `stop` is cancelled (then it says DISCONNECT to the broker and ends).
pub fn spawn(
    host: &str,
    port: u16,
    max_payload: usize,
    ingest: Arc<Ingest>,
    stop: CancellationToken,
) -> (MqttHandle, JoinHandle<()>) {
    let client_id = format!("cradle-hub-{:08x}", rand::random::<u32>());
    let mut options = MqttOptions::new(client_id, host, port);
    options
        .set_keep_alive(Duration::from_secs(15))
        .set_clean_session(true)
        // rumqttc's default (10 KiB) would reject every frame and reconnect.
        .set_max_packet_size(max_payload + 16 * 1024, 64 * 1024)
        .set_inflight(100)
        .set_request_channel_capacity(256);
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
                    ingest
                        .handle(&publish.topic, publish.payload, max_payload)
                        .await;
                }
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    backoff = BACKOFF_START;
                    let filters = SUBSCRIPTIONS
                        .iter()
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
        // A clean goodbye, so the broker does not wait for the keepalive.
        if connected.swap(false, Ordering::AcqRel) && client.try_disconnect().is_ok() {
            let _ = tokio::time::timeout(Duration::from_millis(200), async {
                while eventloop.poll().await.is_ok() {}
            })
            .await;
        }
        connected_tx.send_replace(false);
        tracing::debug!(broker, "mqtt: client stopped");
    });
    (handle, task)
}
