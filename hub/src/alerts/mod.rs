//! Alerts: the rules engine fed by ingest, recording of the frames around
//! each alert, and the events parents' screens follow.

pub mod engine;
pub mod liveness;
pub mod messages;
pub mod recorder;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::live::{CradleStatus, Link, Live, LiveFrame};
use crate::readings::Reading;
use crate::store::alerts::AlertRow;
use crate::store::{
    Store, StoreError, agents, alerts as alert_rows, frames, notifications,
    settings as settings_rows,
};
use crate::tasks::TaskHealth;
use crate::timefmt::{Millis, now_millis};

use engine::{AlertFacts, AlertSettings, AlertType, Engine, Fired};
use liveness::{Change, Observed};
use recorder::Recorder;

/// What `/api/events` (and the desktop app) hear besides status changes.
#[derive(Debug, Clone)]
pub enum HubEvent {
    AlertRaised {
        owner: i64,
        alert: AlertRow,
    },
    AlertResolved {
        owner: i64,
        alert: AlertRow,
    },
    /// Still unresolved [`REMIND_AFTER_MS`] after it was raised: announced
    /// once more.
    AlertReminder {
        owner: i64,
        alert: AlertRow,
    },
    /// The user's set of cradles or their role on one changed (claimed,
    /// removed, joined, left, role changed).
    CradlesChanged {
        user: i64,
    },
    /// The user's inbox changed (a notification added, read or unread):
    /// their unread count may differ.
    InboxChanged {
        user: i64,
    },
}

pub struct Alerts {
    store: Store,
    live: Arc<Live>,
    engine: Mutex<Engine>,
    settings: Mutex<HashMap<String, AlertSettings>>,
    recorder: Mutex<Recorder>,
    next_alert_id: AtomicI64,
    pub events: broadcast::Sender<HubEvent>,
    /// Open `/api/events` streams per user: an alert counts as notified
    /// when a screen of someone who can see the cradle was listening.
    listeners: Mutex<HashMap<i64, usize>>,
    /// Listeners of every alert (the desktop app of a home hub).
    all_listeners: std::sync::atomic::AtomicUsize,
    /// Alerts raised but not stored yet (the writer is behind, or the disk
    /// is full): kept here and written again until they are.
    unsaved: Mutex<BTreeMap<i64, Unsaved>>,
    /// When unsaved alerts were last retried.
    retried_at: AtomicI64,
    /// Recording is paused because the disk is full (logged once).
    recording_paused: AtomicBool,
    /// Announced alerts not resolved yet, by id, until their reminder.
    reminders: Mutex<BTreeMap<i64, (i64, AlertRow)>>,
    /// The last-seen times last written to the store, and when.
    last_seen_saved: Mutex<(Millis, HashMap<String, Millis>)>,
    /// Alerts raised since start, by [`AlertType::index`] (for `/metrics`).
    raised: [AtomicU64; AlertType::ALL.len()],
}

/// An alert unresolved this long is announced once more.
pub const REMIND_AFTER_MS: Millis = 5 * 60_000;
/// How often the cradles' last-seen times are written.
const SAVE_LAST_SEEN_MS: Millis = 30_000;

struct Unsaved {
    owner: i64,
    row: AlertRow,
    /// Its `AlertRaised` event has gone out.
    announced: bool,
    /// A write of it is queued.
    writing: bool,
}

/// Most alerts kept in memory while they cannot be stored (oldest dropped).
const MAX_UNSAVED: usize = 10_000;
/// How often unsaved alerts are written again while the disk is full.
const RETRY_UNSAVED_MS: Millis = 2_000;

#[derive(Debug, Clone, Copy, Serialize)]
pub struct RecordingWindow {
    pub before_ms: Millis,
    pub after_ms: Millis,
}

pub const RECORDING: RecordingWindow = RecordingWindow {
    before_ms: 10_000,
    after_ms: 60_000,
};

impl Alerts {
    /// Loads settings and id counters from the store.
    /// Cradles heard from before a restart are watched from `started` on,
    /// and their liveness alerts still open resolve when they are back.
    pub async fn load(store: Store, live: Arc<Live>) -> Result<Arc<Alerts>, StoreError> {
        let started = now_millis();
        let liveness_types = liveness::TYPES.map(AlertType::as_str);
        let (settings, alert_max, frame_max, last_seen, open, hub_alive_at) = store
            .read(move |c| {
                Ok((
                    settings_rows::all(c)?,
                    alert_rows::max_id(c)?,
                    frames::max_id(c)?,
                    agents::last_seen_all(c)?,
                    alert_rows::unresolved_of_types(c, &liveness_types)?,
                    agents::hub_alive_at(c)?,
                ))
            })
            .await?;
        let mut engine = Engine::default();
        for (uuid, seen) in &last_seen {
            let window = Millis::from(
                settings
                    .iter()
                    .find(|(u, _)| u == uuid)
                    .map_or(AlertSettings::default(), |(_, s)| *s)
                    .offline_after,
            ) * 1000;
            if was_online(*seen, hub_alive_at, window) {
                engine.restore_liveness(uuid, started, Some(*seen), &[]);
            }
        }
        for (uuid, t, id) in &open {
            if let Some(t) = AlertType::parse(t) {
                engine.restore_liveness(uuid, started, None, &[(t, *id)]);
            }
        }
        let (events, _) = broadcast::channel(1024);
        Ok(Arc::new(Alerts {
            store,
            live,
            engine: Mutex::new(engine),
            settings: Mutex::new(settings.into_iter().collect()),
            recorder: Mutex::new(Recorder::new(RECORDING, frame_max + 1)),
            next_alert_id: AtomicI64::new(alert_max + 1),
            events,
            listeners: Mutex::new(HashMap::new()),
            all_listeners: std::sync::atomic::AtomicUsize::new(0),
            unsaved: Mutex::new(BTreeMap::new()),
            retried_at: AtomicI64::new(0),
            recording_paused: AtomicBool::new(false),
            reminders: Mutex::new(BTreeMap::new()),
            last_seen_saved: Mutex::new((started, last_seen.into_iter().collect())),
            raised: Default::default(),
        }))
    }

    pub fn settings(&self, uuid: &str) -> AlertSettings {
        self.settings.lock().get(uuid).copied().unwrap_or_default()
    }

    pub async fn save_settings(&self, uuid: &str, s: AlertSettings) -> Result<(), StoreError> {
        let key = uuid.to_owned();
        self.store
            .write(move |c| settings_rows::upsert(c, &key, &s))
            .await?;
        self.settings.lock().insert(uuid.to_owned(), s);
        Ok(())
    }

    /// Called by ingest for every reading, after the live state is updated.
    /// Never waits for the writer (only, like every ingest write, for room
    /// in its queue).
    pub async fn on_reading(self: &Arc<Self>, uuid: &str, reading: &Reading, now: Millis) {
        let settings = self.settings(uuid);
        let fired = self.engine.lock().on_reading(uuid, reading, now, &settings);
        for f in fired {
            self.raise(uuid, f, &settings).await;
        }
    }

    /// Called by ingest for every frame: keeps the pre-roll and stores
    /// frames of running recordings.
    pub async fn on_frame(&self, uuid: &str, frame: &LiveFrame) {
        let work = self.recorder.lock().on_frame(uuid, frame);
        if let Some(work) = work {
            self.persist(work).await;
        }
    }

    /// False (and logged once) while the disk is full: recording pauses,
    /// the live view and alerts go on.
    fn may_record(&self) -> bool {
        let full = self.store.disk_full();
        if self.recording_paused.swap(full, Ordering::Relaxed) != full {
            if full {
                tracing::warn!("alerts: recording paused: the disk is full");
            } else {
                tracing::info!("alerts: recording resumed: disk space is back");
            }
        }
        !full
    }

    async fn persist(&self, work: recorder::StoreWork) {
        if !self.may_record() {
            return;
        }
        // One job: the frames and their links are stored together or not at all.
        let result = self
            .store
            .write_detached("recorded frames", move |c| {
                for f in &work.frames {
                    frames::insert(c, f.id, &work.uuid, f.ts, &f.jpeg)?;
                }
                for (alert_id, frame_id) in &work.links {
                    frames::link(c, *alert_id, *frame_id)?;
                }
                Ok(())
            })
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "alerts: cannot queue recorded frames");
        }
    }

    async fn raise(self: &Arc<Self>, uuid: &str, fired: Fired, settings: &AlertSettings) {
        let Some(cradle) = self.live.get(uuid) else {
            return;
        };
        let Some(owner) = cradle.owner() else {
            return; // Nobody to tell: an unclaimed cradle records nothing.
        };
        let id = self.next_alert_id.fetch_add(1, Ordering::Relaxed);
        let listening = self.all_listeners.load(Ordering::Relaxed) > 0 || {
            let listeners = self.listeners.lock();
            cradle
                .audience()
                .iter()
                .any(|(user, _)| listeners.get(user).copied().unwrap_or(0) > 0)
        };
        let row = AlertRow {
            id,
            agent_uuid: uuid.to_owned(),
            alert_type: fired.alert_type.as_str().to_owned(),
            temperature: fired.facts.temperature,
            face_detected: fired.facts.face_detected,
            notification_sent: settings.push_notifications_enabled && listening,
            resolved: false,
            created_at: fired.at,
            resolved_at: None,
            detail: serde_json::to_string(&fired.facts).unwrap_or_else(|_| "{}".into()),
        };
        self.engine.lock().stored(uuid, fired.alert_type, id);
        {
            let mut unsaved = self.unsaved.lock();
            if unsaved.len() >= MAX_UNSAVED
                && let Some((old, _)) = unsaved.pop_first()
            {
                tracing::error!(id = old, "alerts: too many unsaved alerts; oldest dropped");
            }
            unsaved.insert(
                id,
                Unsaved {
                    owner,
                    row: row.clone(),
                    announced: false,
                    writing: true,
                },
            );
        }
        self.raised[fired.alert_type.index()].fetch_add(1, Ordering::Relaxed);
        tracing::info!(uuid, alert = row.alert_type, id, "alert raised");
        // Queued before the recording's frames (jobs run in order, so the
        // frames' links find it); its commit is awaited on another task and
        // announced from there: ingest never waits for the writer.
        self.write_unsaved(row).await;
        let work = self.recorder.lock().start(uuid, id, fired.at);
        if let Some(work) = work {
            self.persist(work).await;
        }
    }

    async fn write_unsaved(self: &Arc<Self>, row: AlertRow) {
        let id = row.id;
        // One job: the alert and its notifications are stored together.
        match self
            .store
            .enqueue(move |c| {
                alert_rows::insert_unless_present(c, &row)?;
                notifications::fan_out(c, &row)
            })
            .await
        {
            Ok(done) => {
                let alerts = self.clone();
                tokio::spawn(async move {
                    let (result, notified) = match done.await {
                        Ok(users) => (Ok(()), users),
                        Err(e) => (Err(e), Vec::new()),
                    };
                    alerts.written(id, result);
                    for user in notified {
                        alerts.inbox_changed(user);
                    }
                });
            }
            Err(e) => self.written(id, Err(e)),
        }
    }

    /// The write of unsaved alert `id` ended. Stored: it leaves memory and
    /// is announced (if not yet). Not stored: it is announced anyway (the
    /// notification goes on), its recording stops, it stays in memory and
    /// is written again later.
    fn written(&self, id: i64, result: Result<(), StoreError>) {
        let (event, resolve) = {
            let mut unsaved = self.unsaved.lock();
            let Some(u) = unsaved.get_mut(&id) else {
                return;
            };
            u.writing = false;
            match &result {
                Ok(()) => {
                    let Some(u) = unsaved.remove(&id) else {
                        return;
                    };
                    let resolve = u
                        .row
                        .resolved_at
                        .filter(|_| u.row.resolved)
                        .map(|at| (at, u.row.detail.clone()));
                    let event = (!u.announced).then_some(HubEvent::AlertRaised {
                        owner: u.owner,
                        alert: u.row,
                    });
                    (event, resolve)
                }
                Err(e) => {
                    if e.is_disk_full() {
                        tracing::warn!(id, "alerts: alert not stored (disk full); kept in memory");
                    } else {
                        tracing::error!(id, error = %e, "alerts: alert not stored yet; kept in memory");
                    }
                    self.recorder.lock().stop(&u.row.agent_uuid, id);
                    let event = (!u.announced).then(|| HubEvent::AlertRaised {
                        owner: u.owner,
                        alert: u.row.clone(),
                    });
                    u.announced = true;
                    (event, None)
                }
            }
        };
        if let Some((at, detail)) = resolve {
            // Resolved while it waited: the stored row catches up.
            let store = self.store.clone();
            tokio::spawn(async move {
                if let Err(e) = store
                    .write_waiting(move |c| alert_rows::resolve_with_detail(c, id, at, &detail))
                    .await
                {
                    tracing::warn!(id, error = %e, "alerts: cannot store a resolution");
                }
            });
        }
        if let Some(event) = event {
            if let HubEvent::AlertRaised { owner, alert } = &event
                && !alert.resolved
            {
                self.reminders
                    .lock()
                    .insert(alert.id, (*owner, alert.clone()));
            }
            let _ = self.events.send(event);
        }
    }

    /// Writes the unsaved alerts again: at every tick while the store is
    /// well, every [`RETRY_UNSAVED_MS`] while the disk is full.
    async fn retry_unsaved(self: &Arc<Self>, now: Millis) {
        if self.store.disk_full()
            && now - self.retried_at.load(Ordering::Relaxed) < RETRY_UNSAVED_MS
        {
            return;
        }
        let rows: Vec<AlertRow> = {
            let mut unsaved = self.unsaved.lock();
            unsaved
                .values_mut()
                .filter(|u| !u.writing)
                .map(|u| {
                    u.writing = true;
                    u.row.clone()
                })
                .collect()
        };
        if rows.is_empty() {
            return;
        }
        self.retried_at.store(now, Ordering::Relaxed);
        for row in rows {
            self.write_unsaved(row).await;
        }
    }

    /// Alerts of type `t` raised since the hub started.
    pub fn raised_count(&self, t: AlertType) -> u64 {
        self.raised[t.index()].load(Ordering::Relaxed)
    }

    /// Open event streams: `/api/events` and the desktop app's listener.
    pub fn listening(&self) -> usize {
        self.listeners.lock().values().sum::<usize>() + self.all_listeners.load(Ordering::Relaxed)
    }

    /// Alerts not stored yet (for `/health`).
    pub fn unsaved_count(&self) -> usize {
        self.unsaved.lock().len()
    }

    /// An alert not stored yet, with its owner.
    pub fn unsaved(&self, id: i64) -> Option<(i64, AlertRow)> {
        self.unsaved
            .lock()
            .get(&id)
            .map(|u| (u.owner, u.row.clone()))
    }

    /// The unsaved alerts of the cradles `visible` accepts created since
    /// `since` (newest first): lists show them with the stored ones.
    pub fn unsaved_for(&self, visible: impl Fn(&str) -> bool, since: Millis) -> Vec<AlertRow> {
        self.unsaved
            .lock()
            .values()
            .rev()
            .filter(|u| u.row.created_at >= since && visible(&u.row.agent_uuid))
            .map(|u| u.row.clone())
            .collect()
    }

    /// Resolves an alert that is not stored yet (stored resolved later).
    pub fn resolve_unsaved(&self, id: i64, now: Millis) -> Option<AlertRow> {
        let mut unsaved = self.unsaved.lock();
        let u = unsaved.get_mut(&id)?;
        u.row.resolved = true;
        u.row.resolved_at = u.row.resolved_at.or(Some(now));
        Some(u.row.clone())
    }

    /// Duration rules between readings, and unsaved alerts written again;
    /// runs about twice a second.
    pub async fn tick(self: &Arc<Self>, now: Millis) {
        self.retry_unsaved(now).await;
        self.check_liveness(now).await;
        self.send_reminders(now);
        self.save_last_seen(now).await;
        let due: Vec<(String, Fired, AlertSettings)> = {
            let settings = self.settings.lock();
            let mut engine = self.engine.lock();
            let uuids: Vec<String> = engine.cradles().map(str::to_owned).collect();
            uuids
                .into_iter()
                .flat_map(|uuid| {
                    let s = settings.get(&uuid).copied().unwrap_or_default();
                    engine
                        .on_tick(&uuid, now, &s)
                        .into_iter()
                        .map(move |f| (uuid.clone(), f, s))
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        for (uuid, fired, s) in due {
            self.raise(&uuid, fired, &s).await;
        }
    }

    /// Resolves `alert` (of `owner`'s cradle), stored or still in memory,
    /// and tells every screen.
    pub async fn resolve(
        &self,
        owner: i64,
        alert: AlertRow,
        now: Millis,
    ) -> Result<(), StoreError> {
        if let Some(resolved) = self.resolve_unsaved(alert.id, now) {
            // Not stored yet (disk full): stored resolved once it can be.
            self.resolved(owner, resolved);
            return Ok(());
        }
        let id = alert.id;
        self.store
            .write(move |c| alert_rows::resolve(c, id, now))
            .await?;
        let resolved = AlertRow {
            resolved: true,
            resolved_at: alert.resolved_at.or(Some(now)),
            ..alert
        };
        self.resolved(owner, resolved);
        Ok(())
    }

    /// Resolves a liveness alert whose spell ended at `now`: its facts
    /// record when the cradle came back, for "back online 12 min later".
    async fn resolve_back(
        &self,
        owner: i64,
        alert: AlertRow,
        now: Millis,
    ) -> Result<(), StoreError> {
        let mut facts = facts_of(&alert);
        facts.back_at = Some(now);
        let detail = serde_json::to_string(&facts).unwrap_or_else(|_| alert.detail.clone());
        let id = alert.id;
        let resolved = AlertRow {
            resolved: true,
            resolved_at: alert.resolved_at.or(Some(now)),
            detail: detail.clone(),
            ..alert
        };
        let waiting = self
            .unsaved
            .lock()
            .get_mut(&id)
            .map(|u| u.row = resolved.clone())
            .is_some();
        if !waiting {
            self.store
                .write(move |c| alert_rows::resolve_with_detail(c, id, now, &detail))
                .await?;
        }
        self.resolved(owner, resolved);
        Ok(())
    }

    /// A liveness spell ended: its alert `id` resolves itself (unless a
    /// parent resolved it meanwhile).
    fn resolve_by_hub(self: &Arc<Self>, id: i64, now: Millis) {
        let alerts = self.clone();
        tokio::spawn(async move {
            let row = match alerts.unsaved(id) {
                Some((_, row)) => Some(row),
                None => match alerts.store.read(move |c| alert_rows::by_id(c, id)).await {
                    Ok(row) => row,
                    Err(e) => {
                        tracing::warn!(id, error = %e, "alerts: cannot read an alert to resolve");
                        None
                    }
                },
            };
            let Some(row) = row.filter(|r| !r.resolved) else {
                return;
            };
            let Some(owner) = alerts.live.get(&row.agent_uuid).and_then(|c| c.owner()) else {
                return;
            };
            tracing::info!(
                uuid = row.agent_uuid,
                alert = row.alert_type,
                id,
                "alert resolved itself"
            );
            if let Err(e) = alerts.resolve_back(owner, row, now).await {
                tracing::warn!(id, error = %e, "alerts: cannot resolve an alert");
            }
        });
    }

    /// The soothing loop rocked `minutes` and the baby still cries: a
    /// critical crying alert that names the attempt.
    pub async fn soothing_failed(
        self: &Arc<Self>,
        uuid: &str,
        minutes: u32,
        crying_for_ms: Millis,
        now: Millis,
    ) {
        let settings = self.settings(uuid);
        let fired = Fired {
            alert_type: AlertType::Crying,
            at: now,
            facts: AlertFacts {
                duration_s: Some((crying_for_ms.max(0) / 1000) as u64),
                soothed_minutes: Some(minutes),
                ..AlertFacts::default()
            },
        };
        self.raise(uuid, fired, &settings).await;
    }

    /// Liveness rules over every claimed cradle.
    async fn check_liveness(self: &Arc<Self>, now: Millis) {
        let cradles = self.live.claimed();
        let changes: Vec<(Arc<str>, Change, AlertSettings)> = {
            let settings = self.settings.lock();
            let mut engine = self.engine.lock();
            cradles
                .iter()
                .flat_map(|c| {
                    let s = settings.get(&*c.uuid).copied().unwrap_or_default();
                    engine
                        .check_liveness(&c.uuid, &observed(&c.status()), now, &s)
                        .into_iter()
                        .map(move |change| (c.uuid.clone(), change, s))
                })
                .collect()
        };
        for (uuid, change, s) in changes {
            match change {
                Change::Fire(fired) => self.raise(&uuid, fired, &s).await,
                Change::Resolve { id, .. } => self.resolve_by_hub(id, now),
            }
        }
    }

    /// Announces once more the alerts unresolved for [`REMIND_AFTER_MS`].
    /// [`Alerts::tick`] calls it; tests call it with a `now` ahead of the
    /// wall clock instead of waiting five minutes.
    pub fn send_reminders(&self, now: Millis) {
        let due: Vec<(i64, AlertRow)> = {
            let mut reminders = self.reminders.lock();
            let ids: Vec<i64> = reminders
                .iter()
                .filter(|(_, (_, a))| now - a.created_at >= REMIND_AFTER_MS)
                .map(|(id, _)| *id)
                .collect();
            ids.iter().filter_map(|id| reminders.remove(id)).collect()
        };
        for (owner, alert) in due {
            tracing::info!(
                id = alert.id,
                alert = alert.alert_type,
                "alert still unresolved: reminding"
            );
            let _ = self.events.send(HubEvent::AlertReminder { owner, alert });
        }
    }

    /// Writes the cradles' last-seen times that changed, every
    /// [`SAVE_LAST_SEEN_MS`], in one job; a cradle heard from for the first
    /// time is written at once.
    async fn save_last_seen(&self, now: Millis) {
        let (changed, due) = {
            let mut saved = self.last_seen_saved.lock();
            let due = now - saved.0 >= SAVE_LAST_SEEN_MS;
            if due {
                saved.0 = now;
            }
            let mut changed = Vec::new();
            for c in self.live.claimed() {
                let known = saved.1.get(&*c.uuid).copied();
                if known.is_some() && !due {
                    continue;
                }
                if let Some(t) = c.status().last_seen()
                    && known != Some(t)
                {
                    saved.1.insert(c.uuid.to_string(), t);
                    changed.push((c.uuid.to_string(), t));
                }
            }
            (changed, due)
        };
        if changed.is_empty() && !due {
            return;
        }
        // With the time the hub was last alive: after a restart, only the
        // cradles heard shortly before it count as having been online.
        if let Err(e) = self
            .store
            .write_detached("last seen", move |c| {
                agents::save_last_seen(c, &changed)?;
                agents::save_hub_alive(c, now)
            })
            .await
        {
            tracing::warn!(error = %e, "alerts: cannot queue the cradles' last-seen times");
        }
    }

    pub fn resolved(&self, owner: i64, alert: AlertRow) {
        self.reminders.lock().remove(&alert.id);
        if let Some(t) = AlertType::parse(&alert.alert_type) {
            self.engine
                .lock()
                .resolved(&alert.agent_uuid, t, alert.id, now_millis());
        }
        let _ = self.events.send(HubEvent::AlertResolved { owner, alert });
    }

    pub fn forget_cradle(&self, uuid: &str, owner: i64) {
        self.engine.lock().forget(uuid);
        self.recorder.lock().forget(uuid);
        self.settings.lock().remove(uuid);
        let _ = self.events.send(HubEvent::CradlesChanged { user: owner });
    }

    /// `user`'s notifications were added to, read or unread.
    pub fn inbox_changed(&self, user: i64) {
        let _ = self.events.send(HubEvent::InboxChanged { user });
    }

    /// `user`'s cradles or role changed: their screens start over.
    pub fn cradles_changed(&self, user: i64) {
        let _ = self.events.send(HubEvent::CradlesChanged { user });
    }

    /// Registers an open event stream of `user_id` until the guard drops.
    pub fn listen(self: &Arc<Self>, user_id: i64) -> ListenerGuard {
        *self.listeners.lock().entry(user_id).or_default() += 1;
        ListenerGuard {
            alerts: self.clone(),
            user_id,
        }
    }

    /// Registers a listener of every user's alerts (the household's
    /// desktop app) until the guard drops.
    pub fn listen_all(self: &Arc<Self>) -> AllListenerGuard {
        self.all_listeners.fetch_add(1, Ordering::Relaxed);
        AllListenerGuard {
            alerts: self.clone(),
        }
    }

    /// The ticker task: [`Alerts::tick`] twice a second until `token` is cancelled.
    pub async fn run_ticker(self: Arc<Self>, token: CancellationToken, health: Arc<TaskHealth>) {
        crate::tasks::every(Duration::from_millis(500), token, health, |now| {
            self.tick(now)
        })
        .await;
    }
}

pub struct AllListenerGuard {
    alerts: Arc<Alerts>,
}

impl Drop for AllListenerGuard {
    fn drop(&mut self) {
        self.alerts.all_listeners.fetch_sub(1, Ordering::Relaxed);
    }
}

pub struct ListenerGuard {
    alerts: Arc<Alerts>,
    user_id: i64,
}

impl Drop for ListenerGuard {
    fn drop(&mut self) {
        let mut l = self.alerts.listeners.lock();
        if let Some(n) = l.get_mut(&self.user_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                l.remove(&self.user_id);
            }
        }
    }
}

/// Whether a cradle last heard at `seen` was online when the hub, last
/// alive at `hub_alive_at`, stopped: heard within its offline window (plus
/// the half minute between two saves). One gone for weeks is not reported
/// again at every restart.
fn was_online(seen: Millis, hub_alive_at: Option<Millis>, window: Millis) -> bool {
    hub_alive_at.is_none_or(|alive| seen >= alive - window - SAVE_LAST_SEEN_MS)
}

/// What the liveness rules go by, from a cradle's live status.
fn observed(s: &CradleStatus) -> Observed {
    Observed {
        connected: matches!(s.link, Some(Link::Up { .. })),
        last_seen: s.last_seen().max(s.temperature_fault_at),
        last_sensor_at: [
            s.temperature_at,
            s.crying_at,
            s.direction_at,
            s.temperature_fault_at,
        ]
        .into_iter()
        .flatten()
        .max(),
        last_frame_at: s.last_frame_at,
        last_temperature_at: s.temperature_at,
        last_unusable_temperature_at: s.temperature_fault_at,
    }
}

/// The alert's sentence in `lang` (empty for a type this hub does not know).
pub fn message(row: &AlertRow, lang: crate::i18n::Lang) -> String {
    let Some(t) = AlertType::parse(&row.alert_type) else {
        return String::new();
    };
    let facts = facts_of(row);
    let back_after = facts
        .back_at
        .map(|at| ((at - row.created_at).max(0) / 1000) as u64);
    messages::render(t, &facts, back_after, lang)
}

/// Whether the alert goes to every screen with the highest urgency.
pub fn is_critical(row: &AlertRow) -> bool {
    AlertType::parse(&row.alert_type).is_some_and(|t| facts_of(row).is_critical(t))
}

/// The facts of a stored alert (empty facts for rows written before facts existed).
pub fn facts_of(row: &AlertRow) -> AlertFacts {
    serde_json::from_str(&row.detail).unwrap_or(AlertFacts {
        temperature: row.temperature,
        face_detected: row.face_detected,
        ..AlertFacts::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_store;

    #[test]
    fn only_cradles_heard_shortly_before_the_hub_stopped_count_as_online() {
        let alive = 1_000_000_000;
        let window = 60_000;
        assert!(was_online(alive - 10_000, Some(alive), window));
        assert!(was_online(
            alive - window - SAVE_LAST_SEEN_MS,
            Some(alive),
            window
        ));
        assert!(
            !was_online(alive - 7 * 86_400_000, Some(alive), window),
            "gone for a week"
        );
        assert!(
            was_online(alive - 7 * 86_400_000, None, window),
            "hub never recorded: assume so"
        );
    }

    /// Defect: ids restarted at MAX(id)+1, so once the newest alerts were
    /// deleted (a removed cradle) an old id came back after a restart, and
    /// the desktop app, which skipped ids it had seen, missed the new alert.
    #[tokio::test]
    async fn alert_ids_never_repeat_after_deletes_and_a_restart() {
        let (store, _dir) = test_store();
        let live = Arc::new(Live::default());
        live.ensure("c1", Some(1));
        let stored_ids = |store: Store| async move {
            store.flush().await.unwrap();
            store
                .read(|c| {
                    c.prepare("SELECT id FROM alert_logs")?
                        .query_map([], |r| r.get::<_, i64>(0))?
                        .collect::<rusqlite::Result<Vec<i64>>>()
                })
                .await
                .unwrap()
        };
        let alerts = Alerts::load(store.clone(), live.clone()).await.unwrap();
        alerts
            .on_reading("c1", &Reading::Temperature(39.5), 1_000)
            .await;
        let first = stored_ids(store.clone()).await;
        assert_eq!(first.len(), 1);
        store
            .write(|c| c.execute("DELETE FROM alert_logs", []))
            .await
            .unwrap();
        let restarted = Alerts::load(store.clone(), live).await.unwrap();
        restarted
            .on_reading("c1", &Reading::Temperature(39.5), 2_000)
            .await;
        let second = stored_ids(store).await;
        assert_eq!(second.len(), 1);
        assert!(second[0] > first[0], "{second:?} after {first:?}");
    }

    /// Defect: raising an alert waited for its commit, so a busy writer
    /// held up the MQTT loop.
    #[tokio::test]
    async fn raising_an_alert_does_not_wait_for_the_writer() {
        let (store, _dir) = test_store();
        let live = Arc::new(Live::default());
        live.ensure("c1", Some(1));
        let alerts = Alerts::load(store.clone(), live).await.unwrap();
        let mut events = alerts.events.subscribe();
        // The writer is busy with a long job.
        let (release, wait) = std::sync::mpsc::channel::<()>();
        store
            .write_detached("long job", move |_| {
                let _ = wait.recv();
                Ok(())
            })
            .await
            .unwrap();
        tokio::time::timeout(
            Duration::from_millis(500),
            alerts.on_reading("c1", &Reading::Temperature(39.5), 1_000),
        )
        .await
        .expect("ingest goes on while the alert waits for the writer");
        assert_eq!(alerts.unsaved_count(), 1);
        assert!(events.try_recv().is_err(), "announced only once stored");
        release.send(()).unwrap();
        let event = tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .expect("announced")
            .unwrap();
        let HubEvent::AlertRaised { owner, alert } = event else {
            panic!("{event:?}");
        };
        assert_eq!((owner, alert.alert_type.as_str()), (1, "high_temperature"));
        let stored = store
            .read(move |c| alert_rows::by_id(c, alert.id))
            .await
            .unwrap();
        assert!(stored.is_some(), "stored before it was announced");
        assert_eq!(alerts.unsaved_count(), 0);
    }
}
