//! Home Assistant, optional and only with an external broker
//! (`--ha-discovery` with `--mqtt-url`): every claimed cradle appears in
//! Home Assistant through MQTT discovery ([`discovery`] builds the topics
//! and documents), with its state topics kept current and a rock switch
//! that goes through the hub's own motor path ([`Motor::command`]: the same
//! limits and motor log as a parent's command from a screen).
//!
//! The MQTT client ([`crate::mqtt::client`]) hands Home Assistant's messages
//! over a bounded channel it never waits on, so nothing here can hold up
//! ingest; the [`Bridge`] task publishes with `try_publish` only.
//!
//! The camera: MQTT discovery has no MJPEG camera, and an `image` entity
//! cannot show one (Home Assistant downloads `url_topic` addresses whole,
//! within 10 s, and wants an `image/*` type). So the camera is an MQTT
//! `camera` entity fed with the cradle's latest JPEG at most once a second
//! (the frames are on this broker already), and its attributes carry the
//! hub's live MJPEG address with a signed media token, for a browser or a
//! template. That token expires within an hour and is reissued every half
//! hour, never retained; it hangs on a "Home Assistant (MQTT discovery)"
//! session of the cradle's owner, which the parent sees in their session
//! list and can sign out (the address then stops working at once).

pub mod discovery;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rumqttc::QoS;
use tokio::sync::mpsc;
use tokio_stream::wrappers::WatchStream;
use tokio_stream::{StreamExt, StreamMap};
use tokio_util::sync::CancellationToken;

use crate::api::AppState;
use crate::auth::{MEDIA_TOKEN_TTL_MS, MediaGrant, MediaSigner};
use crate::config::{MqttMode, Settings};
use crate::live::{CradleStatus, Live};
use crate::log_gate::LogGate;
use crate::motor::{Motor, MotorError, Requester};
use crate::mqtt::client::MqttHandle;
use crate::sessions::Sessions;
use crate::store::{Store, users};
use crate::tasks::TaskHealth;
use crate::timefmt::{Millis, now_millis};

use discovery::{Entity, HubInfo, Inbound, States};

/// What the MQTT client tells the bridge.
#[derive(Debug)]
pub enum Event {
    /// Connected and subscribed (again): the broker may have lost every
    /// retained message, so all is published anew.
    Connected,
    Message(Inbound),
}

/// Room for Home Assistant's messages between the client and the bridge;
/// past that they are dropped (and logged) rather than waited for.
pub const INBOX: usize = 64;

/// The motor log's name for commands from Home Assistant's rock switch.
pub const REQUESTER_NAME: &str = "Home Assistant (MQTT)";
/// How the camera link's session is named in the parent's session list.
pub const SESSION_LABEL: &str = "Home Assistant (MQTT discovery)";
/// Camera stills to Home Assistant: at most one per this period.
const TICK: Duration = Duration::from_secs(1);
/// Signed MJPEG addresses are reissued this often (each valid for
/// [`MEDIA_TOKEN_TTL_MS`]).
const LINK_REFRESH_MS: Millis = MEDIA_TOKEN_TTL_MS / 2;

/// The client-to-bridge channel when discovery is on and can work: with
/// the hub's own endpoint there is no broker for Home Assistant to share,
/// so the setting is refused with a warning.
pub fn channel(
    settings: &Settings,
) -> (Option<mpsc::Sender<Event>>, Option<mpsc::Receiver<Event>>) {
    match (&settings.mqtt, settings.ha_discovery) {
        (MqttMode::External { .. }, true) => {
            let (events, inbox) = mpsc::channel(INBOX);
            (Some(events), Some(inbox))
        }
        (MqttMode::Endpoint { .. }, true) => {
            tracing::warn!(
                "ha: --ha-discovery needs an external broker (--mqtt-url) that Home Assistant also uses; Home Assistant discovery is off"
            );
            (None, None)
        }
        (_, false) => (None, None),
    }
}

/// Starts the [`Bridge`] task (`home-assistant` in `/health`).
pub fn spawn(
    state: &AppState,
    mqtt: MqttHandle,
    settings: &Settings,
    inbox: mpsc::Receiver<Event>,
) {
    let name = settings
        .name
        .clone()
        .unwrap_or_else(|| "Cradle Hub".to_owned());
    let bridge = Bridge::new(state, mqtt, name, settings.max_mqtt_payload);
    state.tasks.spawn("home-assistant", move |token, health| {
        bridge.run(inbox, token, health)
    });
    tracing::info!("ha: Home Assistant discovery on");
}

/// A cradle shown in Home Assistant.
struct Shown {
    node: String,
    owner: i64,
    /// What Home Assistant was last sent; `None` until everything went out.
    states: Option<States>,
    frame_seq: u64,
}

pub struct Bridge {
    mqtt: MqttHandle,
    live: Arc<Live>,
    motor: Arc<Motor>,
    links: CameraLinks,
    hub: HubInfo,
    max_frame: usize,
    /// Anyone who may publish on the broker can send commands: a flood of
    /// them must not flood the log.
    log_gate: LogGate<2>,
}

const LOG_UNKNOWN_CRADLE: usize = 0;
const LOG_REFUSED: usize = 1;

impl Bridge {
    /// `hub_name` names the hub's device; frames larger than `max_frame`
    /// are not forwarded (the client could not send them).
    pub fn new(state: &AppState, mqtt: MqttHandle, hub_name: String, max_frame: usize) -> Bridge {
        let ui_url = ui_url(state.http_addr, state.tls.is_some());
        Bridge {
            mqtt,
            live: state.live.clone(),
            motor: state.motor.clone(),
            links: CameraLinks {
                store: state.store.clone(),
                sessions: state.sessions.clone(),
                signer: state.signer.clone(),
                base_url: ui_url.clone(),
                owners: HashMap::new(),
                refreshed_at: now_millis(),
            },
            hub: HubInfo {
                name: hub_name,
                version: env!("CARGO_PKG_VERSION"),
                ui_url,
            },
            max_frame,
            log_gate: LogGate::default(),
        }
    }

    /// Runs until `token` is cancelled.
    pub async fn run(
        mut self,
        mut inbox: mpsc::Receiver<Event>,
        token: CancellationToken,
        health: Arc<TaskHealth>,
    ) {
        let mut shown: HashMap<Arc<str>, Shown> = HashMap::new();
        let mut watches: StreamMap<Arc<str>, WatchStream<CradleStatus>> = StreamMap::new();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = token.cancelled() => return,
                event = inbox.recv() => match event {
                    None => return,
                    Some(Event::Connected | Event::Message(Inbound::HaStatus { online: true })) => {
                        self.publish_all(&mut shown).await;
                    }
                    Some(Event::Message(Inbound::HaStatus { online: false })) => {}
                    Some(Event::Message(Inbound::Rock { node, action })) => {
                        self.rock(&shown, &node, action).await;
                    }
                },
                Some((uuid, status)) = watches.next() => {
                    if let Some(s) = shown.get_mut(&uuid) {
                        self.publish_states(&uuid, s, &status, now_millis());
                    }
                }
                _ = tick.tick() => {
                    let now = now_millis();
                    health.beat(now);
                    self.sync_cradles(&mut shown, &mut watches).await;
                    self.tick(&mut shown, now).await;
                }
            }
        }
    }

    fn publish(&self, topic: &str, retain: bool, payload: impl Into<Vec<u8>>) -> bool {
        match self.mqtt.publish(topic, QoS::AtLeastOnce, retain, payload) {
            Ok(()) => true,
            Err(e) => {
                tracing::debug!(topic, error = %e, "ha: not published");
                false
            }
        }
    }

    /// Shows cradles newly claimed, and removes from Home Assistant those
    /// no longer claimed (or claimed by someone else since).
    async fn sync_cradles(
        &mut self,
        shown: &mut HashMap<Arc<str>, Shown>,
        watches: &mut StreamMap<Arc<str>, WatchStream<CradleStatus>>,
    ) {
        let claimed = self.live.claimed();
        let gone: Vec<Arc<str>> = shown
            .iter()
            .filter(|(uuid, s)| {
                !claimed
                    .iter()
                    .any(|c| c.uuid == **uuid && c.owner() == Some(s.owner))
            })
            .map(|(uuid, _)| uuid.clone())
            .collect();
        for uuid in gone {
            if let Some(s) = shown.remove(&uuid) {
                watches.remove(&uuid);
                self.unpublish(&uuid, &s.node);
            }
        }
        for cradle in claimed {
            let Some(owner) = cradle.owner() else {
                continue;
            };
            if shown.contains_key(&cradle.uuid) {
                continue;
            }
            let mut s = Shown {
                node: discovery::node_id(&cradle.uuid),
                owner,
                states: None,
                frame_seq: 0,
            };
            self.publish_cradle(&cradle.uuid, &mut s).await;
            tracing::info!(
                uuid = &*cradle.uuid,
                "ha: cradle published to Home Assistant"
            );
            watches.insert(
                cradle.uuid.clone(),
                WatchStream::new(cradle.subscribe_status()),
            );
            shown.insert(cradle.uuid.clone(), s);
        }
    }

    /// Everything, after a (re)connect or Home Assistant's birth message.
    async fn publish_all(&mut self, shown: &mut HashMap<Arc<str>, Shown>) {
        self.publish(
            &discovery::hub_config_topic(),
            true,
            discovery::hub_config(&self.hub).to_string(),
        );
        for (uuid, s) in shown.iter_mut() {
            s.states = None;
            self.publish_cradle(uuid, s).await;
        }
    }

    async fn publish_cradle(&mut self, uuid: &str, s: &mut Shown) {
        for entity in Entity::ALL {
            let config = discovery::config(uuid, entity, &self.hub);
            self.publish(
                &discovery::config_topic(&s.node, entity),
                true,
                config.to_string(),
            );
        }
        if let Some(cradle) = self.live.get(uuid) {
            self.publish_states(uuid, s, &cradle.status(), now_millis());
        }
        let link = self.links.link(uuid, s.owner, now_millis()).await;
        self.publish_link(&s.node, link.as_ref());
    }

    /// Empty retained payloads: Home Assistant deletes the entities, and
    /// the broker forgets the retained states.
    fn unpublish(&self, uuid: &str, node: &str) {
        for entity in Entity::ALL {
            self.publish(&discovery::config_topic(node, entity), true, Vec::new());
            if entity != Entity::Camera {
                self.publish(&discovery::state_topic(node, entity), true, Vec::new());
            }
        }
        tracing::info!(uuid, "ha: cradle removed from Home Assistant");
    }

    fn publish_states(&self, uuid: &str, s: &mut Shown, status: &CradleStatus, now: Millis) {
        let states = States::of(status, now);
        let changes = states.changes(s.states.as_ref());
        if changes.is_empty() {
            return;
        }
        let all_sent = changes.iter().fold(true, |ok, (entity, payload)| {
            self.publish(&discovery::state_topic(&s.node, *entity), true, *payload) && ok
        });
        if all_sent {
            s.states = Some(states);
        } else {
            tracing::debug!(
                uuid,
                "ha: states not all published; retried on the next change"
            );
        }
    }

    fn publish_link(&self, node: &str, link: Option<&(String, Millis)>) {
        let attributes =
            discovery::camera_attributes(link.map(|(url, expires)| (url.as_str(), *expires)));
        // Not retained: the signed address is not left on the broker.
        self.publish(
            &discovery::camera_attributes_topic(node),
            false,
            attributes.to_string(),
        );
    }

    /// Time-based states (a cradle goes offline by silence), camera stills,
    /// and the signed camera addresses when due.
    async fn tick(&mut self, shown: &mut HashMap<Arc<str>, Shown>, now: Millis) {
        for (uuid, s) in shown.iter_mut() {
            let Some(cradle) = self.live.get(uuid) else {
                continue;
            };
            self.publish_states(uuid, s, &cradle.status(), now);
            if let Some(frame) = cradle.latest_frame()
                && frame.seq != s.frame_seq
                && frame.jpeg.len() <= self.max_frame
            {
                let sent = self
                    .mqtt
                    .publish(
                        &discovery::state_topic(&s.node, Entity::Camera),
                        QoS::AtMostOnce,
                        false,
                        frame.jpeg.to_vec(),
                    )
                    .is_ok();
                if sent {
                    s.frame_seq = frame.seq;
                }
            }
        }
        if now - self.links.refreshed_at >= LINK_REFRESH_MS {
            self.links.refresh(now).await;
            for (uuid, s) in shown.iter() {
                let link = self.links.link(uuid, s.owner, now).await;
                self.publish_link(&s.node, link.as_ref());
            }
        }
    }

    /// Home Assistant's rock switch: a parent's command through the motor's
    /// own path. The switch shows the motor's state as the hub then sees it,
    /// so a refused command leaves it as it was.
    async fn rock(
        &self,
        shown: &HashMap<Arc<str>, Shown>,
        node: &str,
        action: crate::motor::Action,
    ) {
        let Some((uuid, s)) = shown.iter().find(|(_, s)| s.node == node) else {
            if let Some(suppressed) = self.log_gate.admit(LOG_UNKNOWN_CRADLE, now_millis()) {
                let node: String = node.chars().take(160).collect();
                tracing::warn!(
                    node,
                    suppressed,
                    "ha: rock command for a cradle not shown in Home Assistant; dropped"
                );
            }
            return;
        };
        let by = Requester {
            user_id: s.owner,
            username: REQUESTER_NAME.to_owned(),
        };
        let action_name = action.as_str();
        match self.motor.command(uuid, action, &by).await {
            Ok(()) => tracing::info!(
                uuid = &**uuid,
                action = action_name,
                "ha: rock command sent"
            ),
            Err(MotorError::Refused(refusal)) => {
                if let Some(suppressed) = self.log_gate.admit(LOG_REFUSED, now_millis()) {
                    tracing::warn!(
                        uuid = &**uuid,
                        action = action_name,
                        reason = refusal.as_str(),
                        suppressed,
                        "ha: rock command refused"
                    );
                }
            }
            Err(e) => {
                tracing::warn!(uuid = &**uuid, action = action_name, error = %e, "ha: rock command not sent")
            }
        }
        if let Some(cradle) = self.live.get(uuid) {
            // Home Assistant shows the switch as it asked until told otherwise.
            let rock = States::of(&cradle.status(), now_millis()).rock;
            self.publish(&discovery::state_topic(node, Entity::Rock), true, rock);
        }
    }
}

/// The sessions behind the signed camera addresses: one per owner.
struct CameraLinks {
    store: Store,
    sessions: Arc<Sessions>,
    signer: MediaSigner,
    base_url: String,
    owners: HashMap<i64, Link>,
    refreshed_at: Millis,
}

enum Link {
    Live {
        /// The session's cookie token: kept in memory only, to keep the
        /// session in use; never published or logged.
        cookie: String,
        public_id: String,
        ends_at: Millis,
    },
    /// A parent signed the session out: no address until the hub restarts.
    SignedOut,
}

impl CameraLinks {
    /// The signed MJPEG address of `uuid` and when it expires.
    async fn link(&mut self, uuid: &str, owner: i64, now: Millis) -> Option<(String, Millis)> {
        if !self.owners.contains_key(&owner) {
            let link = self.open(owner).await?;
            self.owners.insert(owner, link);
        }
        let Some(Link::Live {
            public_id, ends_at, ..
        }) = self.owners.get(&owner)
        else {
            return None;
        };
        let expires = (now + MEDIA_TOKEN_TTL_MS).min(*ends_at);
        let grant = MediaGrant {
            user_id: owner,
            session: public_id.clone(),
        };
        let token = self.signer.issue(uuid, &grant, expires);
        Some((discovery::stream_url(&self.base_url, uuid, &token), expires))
    }

    /// A new session for the owner, after ending those a previous run of
    /// the hub left (so the parent's list shows one).
    async fn open(&self, owner: i64) -> Option<Link> {
        let opened = async {
            if let Ok(rows) = self.sessions.list(owner).await {
                for old in rows
                    .iter()
                    .filter(|r| r.user_agent.as_deref() == Some(SESSION_LABEL))
                {
                    self.sessions.end_one(owner, &old.public_id).await?;
                }
            }
            let user = self
                .store
                .read(move |c| users::by_id(c, owner))
                .await
                .map_err(crate::auth::AuthError::from)?;
            let Some(user) = user else {
                return Ok(None);
            };
            let cookie = self
                .sessions
                .create(owner, &user.username, Some(SESSION_LABEL), None)
                .await?;
            let session = self.sessions.lookup(&cookie, None).await?;
            Ok::<_, crate::auth::AuthError>(session.map(|s| Link::Live {
                cookie,
                public_id: s.public_id,
                ends_at: s.ends_at,
            }))
        };
        match opened.await {
            Ok(link) => link,
            Err(e) => {
                tracing::warn!(owner, error = %e, "ha: cannot open the camera link's session; retried later");
                None
            }
        }
    }

    /// Keeps each session in use; notices the ones a parent signed out, and
    /// replaces those that reached their absolute end.
    async fn refresh(&mut self, now: Millis) {
        self.refreshed_at = now;
        let owners: Vec<i64> = self.owners.keys().copied().collect();
        for owner in owners {
            let Some(Link::Live {
                cookie, ends_at, ..
            }) = self.owners.get(&owner)
            else {
                continue;
            };
            let ending = *ends_at - now < MEDIA_TOKEN_TTL_MS;
            match self.sessions.lookup(cookie, None).await {
                Ok(Some(_)) if !ending => {}
                Ok(None) if !ending => {
                    tracing::info!(
                        owner,
                        "ha: the camera link's session was signed out; no signed address until the hub restarts"
                    );
                    self.owners.insert(owner, Link::SignedOut);
                }
                Ok(_) => {
                    self.owners.remove(&owner);
                }
                Err(e) => {
                    tracing::warn!(owner, error = %e, "ha: cannot check the camera link's session");
                }
            }
        }
    }
}

/// The hub's address as other devices on the LAN reach it: a wildcard
/// listen address becomes the source address of the LAN route.
pub fn ui_url(http_addr: SocketAddr, tls: bool) -> String {
    let ip = if http_addr.ip().is_unspecified() {
        crate::discovery::primary_lan_ip().unwrap_or(http_addr.ip())
    } else {
        http_addr.ip()
    };
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{}", SocketAddr::new(ip, http_addr.port()))
}
