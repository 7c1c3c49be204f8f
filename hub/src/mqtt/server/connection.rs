//! One client connection: the CONNECT handshake, then packets until it ends.
//!
//! A single task owns the socket. It reads only while fewer than
//! [`MAX_PENDING_ACKS`] acknowledgements wait for the store, so a hub that
//! falls behind pushes back on the client through TCP instead of queueing
//! without bound. QoS 1/2 acknowledgements leave in the order the publishes
//! arrived, each once its reading is committed.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::BytesMut;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesOrdered;
use parking_lot::Mutex;
use rumqttc::{
    ConnAck, Connect, ConnectReturnCode, Login, Packet, PubAck, PubComp, PubRec, Publish, QoS,
    SubAck, Subscribe, SubscribeReasonCode, UnsubAck, Unsubscribe,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_util::sync::CancellationToken;

use super::confine::{Binding, Decision};
use super::registry::{ConnControl, ConnId};
use super::{CloseReason, Shared, granted};
use crate::live::Live;
use crate::mqtt::parse::MAX_UUID_LEN;
use crate::timefmt::now_millis;

/// Acknowledgements that may wait for the store before the connection stops
/// reading (well above paho's and rumqttc's default in-flight windows).
const MAX_PENDING_ACKS: usize = 512;
/// A client that does not read what the hub writes for this long is closed.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// MQTT 3.1.1 asks servers to accept at least 23 characters; be generous.
const MAX_CLIENT_ID: usize = 256;
/// How many servo commands may wait for one connection's socket.
const OUTBOX: usize = 16;
/// Read buffer growth step; frames need a few of these.
const READ_CHUNK: usize = 16 * 1024;

type PendingAck = BoxFuture<'static, Option<Packet>>;

pub(super) async fn run(
    socket: TcpStream,
    peer: SocketAddr,
    id: ConnId,
    shared: Arc<Shared>,
    stop: CancellationToken,
) {
    let (reader, writer) = socket.into_split();
    let mut io = Io {
        reader,
        writer,
        buf: BytesMut::with_capacity(READ_CHUNK),
        out: BytesMut::with_capacity(256),
        max_packet: shared.config.max_packet(),
    };
    let handshake = tokio::select! {
        _ = stop.cancelled() => return,
        r = timeout(shared.config.connect_timeout, io.read_connect()) => r,
    };
    let connect = match handshake {
        Ok(Ok(connect)) => connect,
        Ok(Err(ConnectError::Protocol)) => {
            // MQTT 3.1 (`MQIsdp`) and 5 land here: the codec reads 3.1.1 only.
            refuse(
                &mut io,
                &shared,
                peer,
                ConnectReturnCode::RefusedProtocolVersion,
            )
            .await;
            return;
        }
        Ok(Err(ConnectError::Closed(reason))) => {
            shared.stats.count_close(reason);
            tracing::debug!(%peer, reason = reason.as_str(), "mqtt: closed before CONNECT");
            return;
        }
        Err(_) => {
            shared.stats.count_close(CloseReason::Refused);
            tracing::debug!(%peer, "mqtt: no CONNECT in time");
            return;
        }
    };
    let client_id = match assign_client_id(&connect) {
        Ok(id) => id,
        Err(code) => return refuse(&mut io, &shared, peer, code).await,
    };
    let binding = match authenticate(&shared, connect.login).await {
        Ok(binding) => binding,
        Err(code) => return refuse(&mut io, &shared, peer, code).await,
    };
    if io
        .write(&Packet::ConnAck(ConnAck::new(
            ConnectReturnCode::Success,
            false,
        )))
        .await
        .is_err()
    {
        shared.stats.count_close(CloseReason::SocketError);
        return;
    }

    let (outbox, inbox) = mpsc::channel(OUTBOX);
    let control = Arc::new(ConnControl {
        id,
        kill: stop,
        reason: Mutex::new(None),
        outbox,
        authenticated: binding.is_authenticated().into(),
    });
    shared.registry.connect(&client_id, control.clone());
    shared.stats.connected.fetch_add(1, Ordering::Relaxed);
    let mut session = Session {
        shared: shared.clone(),
        peer,
        control,
        binding,
        io,
        inbox,
        pending: FuturesOrdered::new(),
        awaiting_release: HashSet::new(),
        next_packet_id: 0,
        keep_alive: keepalive_window(connect.keep_alive),
    };
    if let Some(uuid) = session.binding.cradle().map(str::to_owned) {
        session.bound(&uuid);
    }
    tracing::debug!(%peer, client_id, cradle = session.binding.cradle(), "mqtt: connected");
    let reason = session.serve().await;
    session.finish(&client_id, reason).await;
}

/// 1.5 × the client's keepalive (MQTT 3.1.1 §3.1.2.10); 0 turns it off.
fn keepalive_window(keep_alive: u16) -> Option<Duration> {
    (keep_alive > 0).then(|| Duration::from_millis(u64::from(keep_alive) * 1500))
}

fn assign_client_id(connect: &Connect) -> Result<String, ConnectReturnCode> {
    if connect.client_id.is_empty() {
        // The server may assign an id only to a clean session (§3.1.3.1).
        if !connect.clean_session {
            return Err(ConnectReturnCode::BadClientId);
        }
        return Ok(format!("auto-{:016x}", rand::random::<u64>()));
    }
    if connect.client_id.len() > MAX_CLIENT_ID {
        return Err(ConnectReturnCode::BadClientId);
    }
    Ok(connect.client_id.clone())
}

/// Anonymous connections bind by their first topic. A username names the
/// cradle; if that cradle has a password, it must match.
async fn authenticate(shared: &Shared, login: Option<Login>) -> Result<Binding, ConnectReturnCode> {
    let Some(Login { username, password }) = login else {
        return Ok(Binding::default());
    };
    if username.is_empty() || username.len() > MAX_UUID_LEN || username.contains(['/', '+', '#']) {
        return Err(ConnectReturnCode::BadUserNamePassword);
    }
    let Some(hash) = shared
        .live
        .get(&username)
        .and_then(|c| c.mqtt_password_hash())
    else {
        return Ok(Binding::named(&username));
    };
    if password.is_empty() {
        return Err(ConnectReturnCode::NotAuthorized);
    }
    let Ok(_permit) = shared.password_checks.acquire().await else {
        return Err(ConnectReturnCode::ServiceUnavailable);
    };
    match crate::auth::verify_password(password, hash.to_string()).await {
        Ok(true) => Ok(Binding::authenticated(&username)),
        Ok(false) => Err(ConnectReturnCode::BadUserNamePassword),
        Err(_) => Err(ConnectReturnCode::ServiceUnavailable),
    }
}

async fn refuse(io: &mut Io, shared: &Shared, peer: SocketAddr, code: ConnectReturnCode) {
    tracing::info!(%peer, code = ?code, "mqtt: connection refused");
    shared.stats.count_close(CloseReason::Refused);
    let _ = io.write(&Packet::ConnAck(ConnAck::new(code, false))).await;
    let _ = io.writer.shutdown().await;
}

fn needs_password(live: &Live, uuid: &str) -> bool {
    live.get(uuid)
        .is_some_and(|c| c.mqtt_password_hash().is_some())
}

enum ConnectError {
    /// Not MQTT 3.1.1: answered with "unacceptable protocol version".
    Protocol,
    Closed(CloseReason),
}

struct Io {
    reader: OwnedReadHalf,
    writer: OwnedWriteHalf,
    buf: BytesMut,
    out: BytesMut,
    max_packet: usize,
}

/// What the front of a connection's read buffer holds.
#[derive(Debug)]
pub enum Read {
    Packet(Packet),
    /// More bytes are needed: at least this many.
    Partial(usize),
    /// The connection is closed for this reason.
    Bad(CloseReason, rumqttc::Error),
}

/// Decodes the next packet at the front of `buf` exactly as a connection
/// does, consuming it. Pure, so that property tests can feed it arbitrary
/// bytes without a socket.
pub fn decode_next(buf: &mut BytesMut, max_packet: usize) -> Read {
    match Packet::read(buf, max_packet) {
        Ok(packet) => Read::Packet(packet),
        Err(rumqttc::Error::InsufficientBytes(missing)) => Read::Partial(missing),
        Err(e @ rumqttc::Error::PayloadSizeLimitExceeded(_)) => {
            Read::Bad(CloseReason::Oversized, e)
        }
        Err(e) => Read::Bad(CloseReason::ProtocolError, e),
    }
}

impl Io {
    /// The next complete packet in the buffer, if any.
    fn next_packet(&mut self) -> Read {
        let read = decode_next(&mut self.buf, self.max_packet);
        if let Read::Partial(missing) = read {
            // `check` bounded the announced size by max_packet already.
            self.buf.reserve(missing.max(READ_CHUNK));
        }
        read
    }

    /// Reads more bytes; `Err` when the socket is done.
    async fn fill(&mut self) -> Result<(), CloseReason> {
        if self.buf.capacity() - self.buf.len() < 1024 {
            self.buf.reserve(READ_CHUNK);
        }
        match self.reader.read_buf(&mut self.buf).await {
            Ok(0) if self.buf.is_empty() => Err(CloseReason::SocketClosed),
            // A packet cut off by the end of the stream.
            Ok(0) => Err(CloseReason::ProtocolError),
            Ok(_) => Ok(()),
            Err(_) => Err(CloseReason::SocketError),
        }
    }

    async fn read_connect(&mut self) -> Result<Connect, ConnectError> {
        loop {
            match self.next_packet() {
                Read::Packet(Packet::Connect(connect)) => return Ok(connect),
                Read::Packet(_) => return Err(ConnectError::Closed(CloseReason::ProtocolError)),
                Read::Partial(_) => self.fill().await.map_err(ConnectError::Closed)?,
                Read::Bad(
                    _,
                    rumqttc::Error::InvalidProtocol | rumqttc::Error::InvalidProtocolLevel(_),
                ) => return Err(ConnectError::Protocol),
                Read::Bad(reason, _) => return Err(ConnectError::Closed(reason)),
            }
        }
    }

    async fn write(&mut self, packet: &Packet) -> Result<(), CloseReason> {
        self.out.clear();
        if packet.write(&mut self.out, usize::MAX).is_err() {
            return Err(CloseReason::ProtocolError);
        }
        match timeout(WRITE_TIMEOUT, self.writer.write_all(&self.out)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(CloseReason::SocketError),
            Err(_) => Err(CloseReason::WriteStalled),
        }
    }
}

struct Session {
    shared: Arc<Shared>,
    peer: SocketAddr,
    control: Arc<ConnControl>,
    binding: Binding,
    io: Io,
    inbox: mpsc::Receiver<Publish>,
    /// Acknowledgements in arrival order, each ready once its message is safe
    /// (`None`: the store failed, so the message must not be acknowledged).
    pending: FuturesOrdered<PendingAck>,
    /// QoS 2 packet ids received and acknowledged with PUBREC, until PUBREL.
    awaiting_release: HashSet<u16>,
    next_packet_id: u16,
    keep_alive: Option<Duration>,
}

impl Session {
    async fn serve(&mut self) -> CloseReason {
        let far_future = Instant::now() + Duration::from_secs(86_400 * 365);
        let mut deadline = self.keep_alive.map_or(far_future, |k| Instant::now() + k);
        loop {
            // Packets already in the buffer come first (several arrive in one read).
            let can_read = self.pending.len() < MAX_PENDING_ACKS;
            if can_read {
                match self.io.next_packet() {
                    Read::Packet(packet) => {
                        if let Some(k) = self.keep_alive {
                            deadline = Instant::now() + k;
                        }
                        if let Err(reason) = self.on_packet(packet).await {
                            return reason;
                        }
                        continue;
                    }
                    Read::Bad(reason, e) => {
                        tracing::info!(
                            peer = %self.peer,
                            cradle = self.binding.cradle(),
                            error = %e,
                            "mqtt: closing connection after a bad packet"
                        );
                        return reason;
                    }
                    Read::Partial(_) => {}
                }
            }
            tokio::select! {
                biased;
                _ = self.control.kill.cancelled() => {
                    return self.control.reason.lock().unwrap_or(CloseReason::Shutdown);
                }
                Some(ack) = self.pending.next(), if !self.pending.is_empty() => match ack {
                    Some(packet) => {
                        if let Err(reason) = self.io.write(&packet).await {
                            return reason;
                        }
                    }
                    None => return CloseReason::StoreFailure,
                },
                Some(publish) = self.inbox.recv() => {
                    if let Err(reason) = self.deliver(publish).await {
                        return reason;
                    }
                }
                _ = sleep_until(deadline) => return CloseReason::KeepaliveExpired,
                filled = self.io.fill(), if can_read => {
                    if let Err(reason) = filled {
                        return reason;
                    }
                }
            }
        }
    }

    async fn on_packet(&mut self, packet: Packet) -> Result<(), CloseReason> {
        if let Some(cradle) = self.binding.cradle()
            && let Some(live) = self.shared.live.get(cradle)
        {
            live.heard(now_millis());
        }
        match packet {
            Packet::Publish(publish) => self.on_publish(publish).await,
            Packet::Subscribe(subscribe) => self.on_subscribe(subscribe).await,
            Packet::Unsubscribe(unsubscribe) => self.on_unsubscribe(unsubscribe).await,
            Packet::PubRel(release) => {
                self.awaiting_release.remove(&release.pkid);
                self.io
                    .write(&Packet::PubComp(PubComp::new(release.pkid)))
                    .await
            }
            Packet::PingReq => self.io.write(&Packet::PingResp).await,
            Packet::Disconnect => Err(CloseReason::Clean),
            // Acknowledgements of servo commands delivered at QoS 1.
            Packet::PubAck(_) | Packet::PubComp(_) | Packet::PubRec(_) => Ok(()),
            Packet::Connect(_)
            | Packet::ConnAck(_)
            | Packet::SubAck(_)
            | Packet::UnsubAck(_)
            | Packet::PingResp => {
                tracing::info!(peer = %self.peer, "mqtt: unexpected packet from a client");
                Err(CloseReason::ProtocolError)
            }
        }
    }

    async fn on_publish(&mut self, publish: Publish) -> Result<(), CloseReason> {
        let live = &self.shared.live;
        let decision = self
            .binding
            .check_publish(&publish.topic, |uuid| needs_password(live, uuid));
        let accepted = match decision {
            Decision::Refuse(refusal) => {
                self.shared.stats.refuse(refusal, self.peer, &publish.topic);
                // 3.1.1 has no negative acknowledgement: acknowledge and drop
                // (as Mosquitto does for an ACL denial), or the client would
                // resend it forever.
                None
            }
            Decision::Allow { newly_bound } => {
                if let Some(uuid) = newly_bound {
                    self.bound(&uuid);
                }
                if publish.qos == QoS::ExactlyOnce && self.awaiting_release.contains(&publish.pkid)
                {
                    // A resend of a QoS 2 message already taken: not twice.
                    None
                } else {
                    Some(
                        self.shared
                            .ingest
                            .accept(
                                &publish.topic,
                                publish.payload,
                                self.shared.config.max_payload,
                            )
                            .await,
                    )
                }
            }
        };
        let pkid = publish.pkid;
        let ack = match publish.qos {
            QoS::AtMostOnce => return Ok(()),
            QoS::AtLeastOnce => Packet::PubAck(PubAck::new(pkid)),
            QoS::ExactlyOnce => {
                self.awaiting_release.insert(pkid);
                Packet::PubRec(PubRec::new(pkid))
            }
        };
        self.pending.push_back(Box::pin(async move {
            match accepted {
                Some(accepted) => accepted.committed().await.ok().map(|()| ack),
                None => Some(ack),
            }
        }));
        Ok(())
    }

    async fn on_subscribe(&mut self, subscribe: Subscribe) -> Result<(), CloseReason> {
        let mut codes = Vec::with_capacity(subscribe.filters.len());
        for filter in &subscribe.filters {
            let live = &self.shared.live;
            let decision = self
                .binding
                .check_subscribe(&filter.path, |uuid| needs_password(live, uuid));
            match decision {
                Decision::Allow { newly_bound } => {
                    if let Some(uuid) = newly_bound {
                        self.bound(&uuid);
                    }
                    let qos = granted(filter.qos);
                    if let Some(uuid) = self.binding.cradle() {
                        self.shared.registry.listen_servo(uuid, &self.control, qos);
                    }
                    codes.push(SubscribeReasonCode::Success(qos));
                }
                Decision::Refuse(refusal) => {
                    self.shared.stats.refuse(refusal, self.peer, &filter.path);
                    codes.push(SubscribeReasonCode::Failure);
                }
            }
        }
        self.io
            .write(&Packet::SubAck(SubAck::new(subscribe.pkid, codes)))
            .await
    }

    async fn on_unsubscribe(&mut self, unsubscribe: Unsubscribe) -> Result<(), CloseReason> {
        if let Some(uuid) = self.binding.cradle() {
            let servo = crate::mqtt::servo_topic(uuid);
            if unsubscribe.topics.contains(&servo) {
                self.shared.registry.unlisten_servo(uuid, self.control.id);
            }
        }
        self.io
            .write(&Packet::UnsubAck(UnsubAck::new(unsubscribe.pkid)))
            .await
    }

    /// Writes a servo command; QoS 1 gets the next packet id.
    async fn deliver(&mut self, mut publish: Publish) -> Result<(), CloseReason> {
        if publish.qos != QoS::AtMostOnce {
            self.next_packet_id = self.next_packet_id.checked_add(1).unwrap_or(1);
            publish.pkid = self.next_packet_id;
        }
        self.io.write(&Packet::Publish(publish)).await
    }

    /// The connection now acts for `uuid`.
    fn bound(&mut self, uuid: &str) {
        let first = self.shared.registry.bind(uuid, &self.control);
        if let Some(live) = self.shared.live.get(uuid) {
            live.heard(now_millis());
        }
        if first {
            tracing::info!(peer = %self.peer, cradle = uuid, "mqtt: cradle connected");
        }
    }

    async fn finish(mut self, client_id: &str, reason: CloseReason) {
        if reason == CloseReason::Shutdown {
            // Acknowledge what is already committed, briefly, so a cradle does
            // not resend readings the hub kept.
            let drain = async {
                while let Some(Some(ack)) = self.pending.next().await {
                    if self.io.write(&ack).await.is_err() {
                        break;
                    }
                }
            };
            let _ = timeout(Duration::from_millis(500), drain).await;
        }
        let _ = self.io.writer.shutdown().await;
        let shared = &self.shared;
        shared.stats.connected.fetch_sub(1, Ordering::Relaxed);
        shared.stats.count_close(reason);
        let cradle = self.binding.cradle();
        let offline = shared
            .registry
            .disconnect(client_id, self.control.id, cradle);
        match cradle {
            Some(uuid) if offline => {
                if let Some(live) = shared.live.get(uuid) {
                    live.link_down(now_millis(), reason.as_str());
                }
                tracing::info!(
                    peer = %self.peer,
                    cradle = uuid,
                    reason = reason.as_str(),
                    "mqtt: cradle disconnected"
                );
            }
            _ => tracing::debug!(
                peer = %self.peer,
                client_id,
                reason = reason.as_str(),
                "mqtt: connection closed"
            ),
        }
    }
}
