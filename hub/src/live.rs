//! In-memory state of every known cradle: owner, latest readings, latest
//! frame. Status endpoints, SSE and MJPEG viewers read from here, never from
//! SQLite.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;

use crate::household::Role;
use crate::motor::Rocking;
use crate::readings::{Crying, Direction, Reading};
use crate::timefmt::Millis;

/// The latest JPEG of a cradle, shared by every viewer without copying.
#[derive(Debug, Clone)]
pub struct LiveFrame {
    pub jpeg: Bytes,
    /// Increases with every frame of this cradle; viewers send each once.
    pub seq: u64,
    pub received_at: Millis,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CradleStatus {
    pub temperature: Option<f64>,
    pub temperature_at: Option<Millis>,
    pub crying: Option<Crying>,
    pub crying_at: Option<Millis>,
    pub direction: Option<Direction>,
    pub direction_at: Option<Millis>,
    pub last_normal_face_time: Option<Millis>,
    pub last_frame_at: Option<Millis>,
    /// The last temperature message that was unusable (`"nan"`, out of
    /// range). Updating it wakes no watcher.
    pub temperature_fault_at: Option<Millis>,
    /// Rocking, as the hub's last command taken left it.
    pub rocking: Option<Rocking>,
    /// The hub has commanded this cradle's motor (else `rocking` is unknown).
    pub motor_known: bool,
    /// The cradle's MQTT connection to the hub's own endpoint; `None` when
    /// the hub cannot see connections (external broker) or has not seen one.
    pub link: Option<Link>,
    /// The last packet of any kind (pings included) from the cradle's
    /// connection. Updating it wakes no watcher.
    pub last_packet_at: Option<Millis>,
}

/// A cradle's connection state, as the hub's MQTT endpoint sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Link {
    Up { since: Millis },
    Down { since: Millis, reason: &'static str },
}

/// With no connection state to go by, a cradle counts as online while it sent
/// something within this window.
pub const ONLINE_WINDOW_MS: Millis = 60_000;

impl CradleStatus {
    /// The last reading or frame of any kind.
    pub fn last_update(&self) -> Option<Millis> {
        [
            self.temperature_at,
            self.crying_at,
            self.direction_at,
            self.last_frame_at,
        ]
        .into_iter()
        .flatten()
        .max()
    }

    /// When the hub last heard from the cradle: a reading, a frame, or any
    /// packet on its connection.
    pub fn last_seen(&self) -> Option<Millis> {
        self.last_update().max(self.last_packet_at)
    }

    /// Connected to the hub's endpoint; with no connection state (external
    /// broker), heard from within [`ONLINE_WINDOW_MS`].
    pub fn online(&self, now: Millis) -> bool {
        match self.link {
            Some(Link::Up { .. }) => true,
            Some(Link::Down { .. }) => false,
            None => self.last_seen().is_some_and(|t| now - t < ONLINE_WINDOW_MS),
        }
    }

    fn apply(&mut self, reading: &Reading, at: Millis) {
        match reading {
            Reading::Temperature(t) => {
                self.temperature = Some(*t);
                self.temperature_at = Some(at);
            }
            Reading::Crying { crying, .. } => {
                self.crying = Some(*crying);
                self.crying_at = Some(at);
            }
            Reading::Direction(d) => {
                if d.is_frontal() {
                    self.last_normal_face_time = Some(at);
                }
                self.direction = Some(d.clone());
                self.direction_at = Some(at);
            }
        }
    }
}

pub struct CradleLive {
    pub uuid: Arc<str>,
    owner: RwLock<Option<i64>>,
    status: watch::Sender<CradleStatus>,
    frame: watch::Sender<Option<LiveFrame>>,
    frame_seq: AtomicU64,
    /// When status watchers were last woken for a reading that changed no value.
    quiet_notify_at: AtomicI64,
    /// argon2 hash of the cradle's MQTT password, when the owner requires one.
    mqtt_password_hash: RwLock<Option<Arc<str>>>,
    /// Everyone besides the owner who may see the cradle, with their role.
    members: RwLock<HashMap<i64, Role>>,
    /// The owner's "allow the Smart Cradle app's live view on this network".
    lan_app_view: AtomicBool,
}

impl CradleLive {
    fn new(uuid: &str, owner: Option<i64>) -> CradleLive {
        CradleLive {
            uuid: Arc::from(uuid),
            owner: RwLock::new(owner),
            status: watch::Sender::new(CradleStatus::default()),
            frame: watch::Sender::new(None),
            frame_seq: AtomicU64::new(0),
            quiet_notify_at: AtomicI64::new(0),
            mqtt_password_hash: RwLock::new(None),
            members: RwLock::new(HashMap::new()),
            lan_app_view: AtomicBool::new(false),
        }
    }
    /// `user_id`'s role on this cradle, if any.
    pub fn role_of(&self, user_id: i64) -> Option<Role> {
        if self.owner() == Some(user_id) {
            return Some(Role::Owner);
        }
        self.members.read().get(&user_id).copied()
    }
    /// The owner and every member, with their roles.
    pub fn audience(&self) -> Vec<(i64, Role)> {
        let mut all: Vec<(i64, Role)> =
            self.owner().map(|o| (o, Role::Owner)).into_iter().collect();
        all.extend(self.members.read().iter().map(|(u, r)| (*u, *r)));
        all
    }
    /// Adds a member or changes their role (`None` removes them).
    pub fn set_member(&self, user_id: i64, role: Option<Role>) {
        let mut members = self.members.write();
        match role {
            Some(role) => members.insert(user_id, role),
            None => members.remove(&user_id),
        };
    }
    pub fn lan_app_view(&self) -> bool {
        self.lan_app_view.load(Ordering::Relaxed)
    }
    pub fn set_lan_app_view(&self, on: bool) {
        self.lan_app_view.store(on, Ordering::Relaxed);
    }
    pub fn mqtt_password_hash(&self) -> Option<Arc<str>> {
        self.mqtt_password_hash.read().clone()
    }
    pub fn set_mqtt_password_hash(&self, hash: Option<&str>) {
        *self.mqtt_password_hash.write() = hash.map(Arc::from);
    }
    /// A packet arrived on the cradle's connection: it is online. Wakes
    /// watchers only when that is news.
    pub fn heard(&self, at: Millis) {
        self.status.send_if_modified(|s| {
            s.last_packet_at = Some(at);
            if matches!(s.link, Some(Link::Up { .. })) {
                return false;
            }
            s.link = Some(Link::Up { since: at });
            true
        });
    }
    /// A temperature message arrived that is not a usable reading.
    pub fn unusable_temperature(&self, at: Millis) {
        self.status.send_if_modified(|s| {
            s.temperature_fault_at = Some(at);
            false
        });
    }
    /// The cradle's last connection closed.
    pub fn link_down(&self, at: Millis, reason: &'static str) {
        self.status.send_modify(|s| {
            s.last_packet_at = Some(at);
            s.link = Some(Link::Down { since: at, reason });
        });
    }
    pub fn owner(&self) -> Option<i64> {
        *self.owner.read()
    }
    /// The latest crying reading says so (without copying the status).
    pub fn is_crying(&self) -> bool {
        self.status.borrow().crying == Some(Crying::Crying)
    }
    pub fn status(&self) -> CradleStatus {
        self.status.borrow().clone()
    }
    pub fn subscribe_status(&self) -> watch::Receiver<CradleStatus> {
        self.status.subscribe()
    }
    pub fn subscribe_frames(&self) -> watch::Receiver<Option<LiveFrame>> {
        self.frame.subscribe()
    }
    pub fn latest_frame(&self) -> Option<LiveFrame> {
        self.frame.borrow().clone()
    }
    /// Watchers (SSE, events) wake when a value changes, and at most once a
    /// second for readings that only refresh a time (direction arrives ten
    /// times a second).
    pub fn apply_reading(&self, reading: &Reading, at: Millis) {
        self.status.send_if_modified(|s| {
            let before = (s.temperature, s.crying, s.direction.clone());
            s.apply(reading, at);
            let changed = before != (s.temperature, s.crying, s.direction.clone());
            let quiet_due = at - self.quiet_notify_at.load(Ordering::Relaxed) >= 1000;
            if changed || quiet_due {
                self.quiet_notify_at.store(at, Ordering::Relaxed);
            }
            changed || quiet_due
        });
    }
    pub fn set_rocking(&self, rocking: Option<Rocking>) {
        self.status.send_if_modified(|s| {
            let changed = s.rocking != rocking || !s.motor_known;
            s.rocking = rocking;
            s.motor_known = true;
            changed
        });
    }
    pub fn publish_frame(&self, jpeg: Bytes, at: Millis) -> LiveFrame {
        let seq = self.frame_seq.fetch_add(1, Ordering::Relaxed) + 1;
        let frame = LiveFrame {
            jpeg,
            seq,
            received_at: at,
        };
        self.frame.send_replace(Some(frame.clone()));
        // Frames change the status only once a second so status watchers
        // (SSE, events) are not woken ten times a second per cradle.
        self.status.send_if_modified(|s| {
            let stale = s.last_frame_at.is_none_or(|t| at - t >= 1000);
            if stale {
                s.last_frame_at = Some(at);
            }
            stale
        });
        frame
    }
    /// Forgets everything heard from the cradle (it was removed from its
    /// account); whether it is connected stays true.
    fn reset(&self) {
        self.status.send_modify(|s| {
            *s = CradleStatus {
                link: s.link.clone(),
                last_packet_at: s.last_packet_at,
                ..CradleStatus::default()
            }
        });
        self.frame.send_replace(None);
        self.set_mqtt_password_hash(None);
        self.members.write().clear();
        self.set_lan_app_view(false);
    }
}

/// How many never-registered cradle ids seen on MQTT are remembered.
const UNKNOWN_REMEMBERED: usize = 256;

#[derive(Default)]
pub struct Live {
    cradles: RwLock<HashMap<Arc<str>, Arc<CradleLive>>>,
    /// Ids heard on MQTT without a `/register_agent`: a parent may still
    /// claim them (the cradle's registration call can fail, PROTOCOL.md).
    unknown: Mutex<VecDeque<String>>,
}

impl Live {
    pub fn get(&self, uuid: &str) -> Option<Arc<CradleLive>> {
        self.cradles.read().get(uuid).cloned()
    }

    /// Adds a known agent (idempotent) and returns its live state.
    pub fn ensure(&self, uuid: &str, owner: Option<i64>) -> Arc<CradleLive> {
        if let Some(c) = self.get(uuid) {
            return c;
        }
        let mut map = self.cradles.write();
        let c = map
            .entry(Arc::from(uuid))
            .or_insert_with(|| Arc::new(CradleLive::new(uuid, owner)))
            .clone();
        drop(map);
        self.unknown.lock().retain(|u| u != uuid);
        c
    }

    /// Forgets a cradle (its agent row was deleted).
    pub fn remove(&self, uuid: &str) {
        if let Some(c) = self.cradles.write().remove(uuid) {
            c.reset();
        }
    }

    pub fn set_owner(&self, uuid: &str, owner: Option<i64>) {
        let c = self.ensure(uuid, owner);
        let previous = std::mem::replace(&mut *c.owner.write(), owner);
        if owner.is_none() {
            c.reset();
        } else if previous.is_none() {
            // A new claim starts with a household of one.
            c.members.write().clear();
            c.set_lan_app_view(false);
        }
    }

    /// The cradle and `user_id`'s role on it, if they have one.
    pub fn access(&self, uuid: &str, user_id: i64) -> Option<(Arc<CradleLive>, Role)> {
        let c = self.get(uuid)?;
        let role = c.role_of(user_id)?;
        Some((c, role))
    }

    /// Every cradle `user_id` may see, with their role on it.
    pub fn visible_to(&self, user_id: i64) -> Vec<(Arc<CradleLive>, Role)> {
        self.cradles
            .read()
            .values()
            .filter_map(|c| c.role_of(user_id).map(|r| (c.clone(), r)))
            .collect()
    }

    /// Cradles connected to the hub's endpoint now, and when the newest of
    /// those connections came up.
    pub fn connected(&self) -> (usize, Option<Millis>) {
        let cradles = self.cradles.read();
        let mut count = 0;
        let mut newest = None;
        for c in cradles.values() {
            if let Some(Link::Up { since }) = c.status.borrow().link {
                count += 1;
                newest = newest.max(Some(since));
            }
        }
        (count, newest)
    }

    /// MJPEG live views open now, over all cradles: they are the only
    /// receivers of the cradles' frame channels.
    pub fn viewers(&self) -> usize {
        self.cradles
            .read()
            .values()
            .map(|c| c.frame.receiver_count())
            .sum()
    }

    /// Every cradle that has an owner.
    pub fn claimed(&self) -> Vec<Arc<CradleLive>> {
        self.cradles
            .read()
            .values()
            .filter(|c| c.owner().is_some())
            .cloned()
            .collect()
    }

    pub fn remember_unknown(&self, uuid: &str) {
        let mut unknown = self.unknown.lock();
        if unknown.iter().any(|u| u == uuid) {
            return;
        }
        if unknown.len() == UNKNOWN_REMEMBERED {
            unknown.pop_front();
        }
        unknown.push_back(uuid.to_owned());
    }

    pub fn was_heard(&self, uuid: &str) -> bool {
        self.unknown.lock().iter().any(|u| u == uuid)
    }

    pub fn len(&self) -> usize {
        self.cradles.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_of_each_kind_and_last_frontal_time() {
        let live = Live::default();
        let c = live.ensure("a", Some(1));
        c.apply_reading(&Reading::Temperature(36.6), 1_000);
        c.apply_reading(
            &Reading::Direction(Direction::from_device("정면 유지 중")),
            2_000,
        );
        c.apply_reading(
            &Reading::Direction(Direction::from_device("좌측으로 움직임")),
            3_000,
        );
        c.apply_reading(
            &Reading::Crying {
                crying: Crying::Crying,
                probability: Some(0.9),
            },
            4_000,
        );
        let s = c.status();
        assert_eq!(s.temperature, Some(36.6));
        assert_eq!(s.last_normal_face_time, Some(2_000));
        assert_eq!(
            s.direction.as_ref().map(|d| d.raw().to_owned()),
            Some("좌측으로 움직임".into())
        );
        assert_eq!(s.last_update(), Some(4_000));
    }

    #[test]
    fn unknown_ids_are_bounded_and_forgotten_once_registered() {
        let live = Live::default();
        for i in 0..(UNKNOWN_REMEMBERED + 10) {
            live.remember_unknown(&format!("u{i}"));
        }
        assert!(!live.was_heard("u0"));
        assert!(live.was_heard("u265"));
        live.ensure("u265", None);
        assert!(!live.was_heard("u265"));
    }

    #[test]
    fn frames_are_numbered_and_ownership_is_checked() {
        let live = Live::default();
        let c = live.ensure("a", Some(1));
        let f1 = c.publish_frame(Bytes::from_static(b"1"), 0);
        let f2 = c.publish_frame(Bytes::from_static(b"2"), 100);
        assert!(f2.seq > f1.seq);
        let role = |user| live.access("a", user).map(|(_, role)| role);
        assert_eq!(role(1), Some(Role::Owner));
        assert_eq!(role(2), None);
        c.set_member(2, Some(Role::Viewer));
        assert_eq!(role(2), Some(Role::Viewer));
        live.set_owner("a", None);
        assert_eq!(role(1), None);
        assert_eq!(role(2), None, "an unclaimed cradle has no household");
        assert!(c.latest_frame().is_none());
    }
}
