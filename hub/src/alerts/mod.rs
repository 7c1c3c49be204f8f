//! Alerts: the rules engine fed by ingest, recording of the frames around
//! each alert, and the events parents' screens follow.

pub mod engine;
pub mod messages;
pub mod recorder;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::live::{Live, LiveFrame};
use crate::readings::Reading;
use crate::store::alerts::AlertRow;
use crate::store::{Store, StoreError, alerts as alert_rows, frames, settings as settings_rows};
use crate::tasks::TaskHealth;
use crate::timefmt::{Millis, now_millis};

use engine::{AlertFacts, AlertSettings, AlertType, Engine, Fired};
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
    /// The user's set of cradles changed (claimed or removed).
    CradlesChanged {
        owner: i64,
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
    /// when one of its owner's screens was listening.
    listeners: Mutex<HashMap<i64, usize>>,
    /// Listeners of every alert (the desktop app of a home hub).
    all_listeners: std::sync::atomic::AtomicUsize,
}

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
    pub async fn load(store: Store, live: Arc<Live>) -> Result<Arc<Alerts>, StoreError> {
        let (settings, alert_max, frame_max) = store
            .read(|c| {
                Ok((
                    settings_rows::all(c)?,
                    alert_rows::max_id(c)?,
                    frames::max_id(c)?,
                ))
            })
            .await?;
        let (events, _) = broadcast::channel(1024);
        Ok(Arc::new(Alerts {
            store,
            live,
            engine: Mutex::new(Engine::default()),
            settings: Mutex::new(settings.into_iter().collect()),
            recorder: Mutex::new(Recorder::new(RECORDING, frame_max + 1)),
            next_alert_id: AtomicI64::new(alert_max + 1),
            events,
            listeners: Mutex::new(HashMap::new()),
            all_listeners: std::sync::atomic::AtomicUsize::new(0),
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
    pub async fn on_reading(&self, uuid: &str, reading: &Reading, now: Millis) {
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

    async fn persist(&self, work: recorder::StoreWork) {
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

    async fn raise(&self, uuid: &str, fired: Fired, settings: &AlertSettings) {
        let Some(owner) = self.live.get(uuid).and_then(|c| c.owner()) else {
            return; // Nobody to tell: an unclaimed cradle records nothing.
        };
        let id = self.next_alert_id.fetch_add(1, Ordering::Relaxed);
        let listening = self.all_listeners.load(Ordering::Relaxed) > 0
            || self.listeners.lock().get(&owner).copied().unwrap_or(0) > 0;
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
        let insert = row.clone();
        // Waits for the commit: whoever hears of the alert may fetch or
        // resolve it at once. Alerts are rare; ingest pauses a millisecond.
        if let Err(e) = self
            .store
            .write_waiting(move |c| alert_rows::insert(c, &insert))
            .await
        {
            tracing::error!(error = %e, "alerts: cannot store alert");
            return;
        }
        tracing::info!(uuid, alert = row.alert_type, id, "alert raised");
        let work = self.recorder.lock().start(uuid, id, fired.at);
        if let Some(work) = work {
            self.persist(work).await;
        }
        let _ = self
            .events
            .send(HubEvent::AlertRaised { owner, alert: row });
    }

    /// Duration rules between readings; runs about once a second.
    pub async fn tick(&self, now: Millis) {
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

    pub fn resolved(&self, owner: i64, alert: AlertRow) {
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
        let _ = self.events.send(HubEvent::CradlesChanged { owner });
    }

    pub fn cradle_claimed(&self, owner: i64) {
        let _ = self.events.send(HubEvent::CradlesChanged { owner });
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
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = token.cancelled() => return,
                _ = tick.tick() => {}
            }
            let now = now_millis();
            health.beat(now);
            tokio::select! {
                _ = token.cancelled() => return,
                _ = self.tick(now) => {}
            }
        }
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

/// The facts of a stored alert (empty facts for rows written before facts existed).
pub fn facts_of(row: &AlertRow) -> AlertFacts {
    serde_json::from_str(&row.detail).unwrap_or(AlertFacts {
        temperature: row.temperature,
        max_temperature: None,
        duration_s: None,
        direction: None,
        face_detected: row.face_detected,
    })
}
