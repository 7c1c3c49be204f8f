//! The hub's own MQTT endpoint: cradles connect to the hub itself.
//!
//! The hub is the only subscriber of what cradles publish, so it needs no
//! general broker: each connection's publishes go straight from the socket
//! into [`Ingest`] (live frame, recorder, store), and servo commands are
//! written to the connections of that cradle that subscribed to its servo
//! topic. Packets are read and written with rumqttc's MQTT 3.1.1 codec.
//! Every connection is confined to one cradle ([`confine`]).

mod confine;
mod connection;
mod registry;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use rumqttc::{Publish, QoS};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

pub use confine::Refusal;
pub use connection::{Read, decode_next};

use crate::ingest::Ingest;
use crate::live::Live;
use crate::log_gate::LogGate;
use crate::mqtt::servo_topic;
use crate::timefmt::now_millis;

use registry::Registry;

/// Open connections at most. A home has a handful of cradles; the cap keeps
/// a misbehaving device on the LAN from exhausting memory (each connection
/// may buffer up to one maximum-size packet) or file descriptors.
pub const MAX_CONNECTIONS: usize = 256;

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest publish payload ingest accepts.
    pub max_payload: usize,
    /// A client must send CONNECT within this time.
    pub connect_timeout: Duration,
}

impl ServerConfig {
    /// The largest packet read: the payload limit plus room for the topic and
    /// headers. Anything larger closes that one connection.
    fn max_packet(&self) -> usize {
        self.max_payload + 16 * 1024
    }
}

/// Why a connection ended; counted in `/health` and shown as a cradle's
/// connection state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The client sent DISCONNECT.
    Clean,
    /// The client closed the socket without DISCONNECT.
    SocketClosed,
    SocketError,
    /// Nothing received for 1.5 × the keepalive.
    KeepaliveExpired,
    /// Another connection with the same client id.
    Takeover,
    /// Bad bytes, a truncated packet or a protocol violation.
    ProtocolError,
    /// A packet larger than the hub's limit.
    Oversized,
    /// CONNECT refused (protocol, client id, credentials) or never sent.
    Refused,
    /// The owner turned on the cradle's password.
    PasswordRequired,
    /// A reading could not be stored: closing makes the client resend it.
    StoreFailure,
    /// The client did not read what the hub wrote.
    WriteStalled,
    /// [`MAX_CONNECTIONS`] were open already.
    TooManyConnections,
    Shutdown,
}

impl CloseReason {
    pub const ALL: [CloseReason; 13] = [
        CloseReason::Clean,
        CloseReason::SocketClosed,
        CloseReason::SocketError,
        CloseReason::KeepaliveExpired,
        CloseReason::Takeover,
        CloseReason::ProtocolError,
        CloseReason::Oversized,
        CloseReason::Refused,
        CloseReason::PasswordRequired,
        CloseReason::StoreFailure,
        CloseReason::WriteStalled,
        CloseReason::TooManyConnections,
        CloseReason::Shutdown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Clean => "disconnect",
            CloseReason::SocketClosed => "socket_closed",
            CloseReason::SocketError => "socket_error",
            CloseReason::KeepaliveExpired => "keepalive_expired",
            CloseReason::Takeover => "takeover",
            CloseReason::ProtocolError => "protocol_error",
            CloseReason::Oversized => "oversized_packet",
            CloseReason::Refused => "connect_refused",
            CloseReason::PasswordRequired => "password_required",
            CloseReason::StoreFailure => "store_failure",
            CloseReason::WriteStalled => "write_stalled",
            CloseReason::TooManyConnections => "too_many_connections",
            CloseReason::Shutdown => "hub_shutdown",
        }
    }
}

/// Counters for `/health`.
#[derive(Default)]
pub struct ServerStats {
    pub accepted: AtomicU64,
    pub connected: AtomicU64,
    refused: [AtomicU64; Refusal::ALL.len()],
    closed: [AtomicU64; CloseReason::ALL.len()],
    refusal_log: LogGate<{ Refusal::ALL.len() }>,
}

impl ServerStats {
    pub fn refused(&self) -> Vec<(&'static str, u64)> {
        Refusal::ALL
            .iter()
            .map(|r| {
                (
                    r.as_str(),
                    self.refused[*r as usize].load(Ordering::Relaxed),
                )
            })
            .collect()
    }

    pub fn closed(&self) -> Vec<(&'static str, u64)> {
        CloseReason::ALL
            .iter()
            .map(|r| (r.as_str(), self.closed[*r as usize].load(Ordering::Relaxed)))
            .collect()
    }

    fn count_close(&self, reason: CloseReason) {
        self.closed[reason as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a refusal and logs it at most once a second per kind.
    fn refuse(&self, refusal: Refusal, peer: SocketAddr, topic: &str) {
        self.refused[refusal as usize].fetch_add(1, Ordering::Relaxed);
        if let Some(suppressed) = self.refusal_log.admit(refusal as usize, now_millis()) {
            let topic: String = topic.chars().take(160).collect();
            tracing::warn!(
                %peer,
                topic,
                reason = refusal.as_str(),
                suppressed,
                "mqtt: refused"
            );
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServoError {
    #[error("the cradle is not connected to the hub")]
    NotConnected,
    #[error("the cradle's connection is not reading (its queue is full)")]
    Stalled,
}

/// Handle the rest of the hub uses: servo commands, state, counters.
#[derive(Clone)]
pub struct ServerHandle {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

/// What every connection task shares.
struct Shared {
    config: ServerConfig,
    ingest: Arc<Ingest>,
    live: Arc<Live>,
    registry: Registry,
    stats: ServerStats,
    /// argon2 needs ~19 MiB and real CPU: a burst of logins must not
    /// exhaust a Raspberry Pi.
    password_checks: Semaphore,
    next_conn: AtomicU64,
    accepting: std::sync::atomic::AtomicBool,
}

impl ServerHandle {
    /// Writes `{"action": "start"|"stop"}` to every connection of the cradle
    /// that subscribed to its servo topic. Returns how many got it.
    pub fn publish_servo(&self, uuid: &str, start: bool) -> Result<usize, ServoError> {
        let listeners = self.shared.registry.servo_listeners(uuid);
        if listeners.is_empty() {
            return Err(ServoError::NotConnected);
        }
        let payload: &'static [u8] = if start {
            br#"{"action": "start"}"#
        } else {
            br#"{"action": "stop"}"#
        };
        let mut delivered = 0;
        for (conn, qos) in listeners {
            let publish = Publish::from_bytes(servo_topic(uuid), qos, Bytes::from_static(payload));
            if conn.outbox.try_send(publish).is_ok() {
                delivered += 1;
            }
        }
        if delivered == 0 {
            return Err(ServoError::Stalled);
        }
        Ok(delivered)
    }

    pub fn is_accepting(&self) -> bool {
        self.shared.accepting.load(Ordering::Acquire)
    }

    pub fn connections(&self) -> usize {
        self.shared.registry.connections()
    }

    pub fn is_online(&self, uuid: &str) -> bool {
        self.shared.registry.is_online(uuid)
    }

    pub fn stats(&self) -> &ServerStats {
        &self.shared.stats
    }

    /// After the owner turns a cradle's password on: anonymous connections
    /// acting for it are closed, and it must log in from then on.
    pub fn password_enabled(&self, uuid: &str) -> usize {
        self.shared.registry.close_unauthenticated(uuid)
    }
}

/// Starts accepting on `listener`; runs until `stop` is cancelled.
pub fn spawn(
    listener: TcpListener,
    config: ServerConfig,
    ingest: Arc<Ingest>,
    live: Arc<Live>,
    stop: CancellationToken,
) -> std::io::Result<(ServerHandle, tokio::task::JoinHandle<()>)> {
    let addr = listener.local_addr()?;
    let shared = Arc::new(Shared {
        config,
        ingest,
        live,
        registry: Registry::default(),
        stats: ServerStats::default(),
        password_checks: Semaphore::new(2),
        next_conn: AtomicU64::new(1),
        accepting: true.into(),
    });
    let handle = ServerHandle {
        addr,
        shared: shared.clone(),
    };
    let task = tokio::spawn(accept_loop(listener, shared, stop));
    Ok((handle, task))
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, stop: CancellationToken) {
    let connections = tokio_util::task::TaskTracker::new();
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let full_log = LogGate::<1>::default();
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((socket, peer)) => {
                shared.stats.accepted.fetch_add(1, Ordering::Relaxed);
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    shared.stats.count_close(CloseReason::TooManyConnections);
                    if let Some(suppressed) = full_log.admit(0, now_millis()) {
                        tracing::warn!(%peer, suppressed, limit = MAX_CONNECTIONS, "mqtt: too many connections, refusing");
                    }
                    drop(socket);
                    continue;
                };
                let _ = socket.set_nodelay(true);
                let id = shared.next_conn.fetch_add(1, Ordering::Relaxed);
                let shared = shared.clone();
                let stop = stop.child_token();
                connections.spawn(async move {
                    connection::run(socket, peer, id, shared, stop).await;
                    drop(slot);
                });
            }
            Err(e) => {
                // Out of file descriptors and the like: back off instead of
                // spinning, and keep serving the connections we have.
                tracing::warn!(error = %e, "mqtt: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    shared.accepting.store(false, Ordering::Release);
    connections.close();
    connections.wait().await;
    tracing::debug!("mqtt: endpoint stopped");
}

/// The QoS the hub delivers servo commands at: what the subscriber asked
/// for, at most 1 (a retry of "start" or "stop" does no harm).
fn granted(requested: QoS) -> QoS {
    match requested {
        QoS::AtMostOnce => QoS::AtMostOnce,
        QoS::AtLeastOnce | QoS::ExactlyOnce => QoS::AtLeastOnce,
    }
}
