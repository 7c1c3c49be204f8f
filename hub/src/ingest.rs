//! From one MQTT publish to live state and the store. Transport-agnostic:
//! the MQTT client hands over (topic, payload) and nothing else.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use bytes::Bytes;
use futures_util::future::BoxFuture;

use crate::alerts::Alerts;
use crate::live::Live;
use crate::log_gate::LogGate;
use crate::mqtt::parse::{self, DropReason, Message};
use crate::store::{Store, StoreError, sensors};
use crate::timefmt::{Millis, now_millis};

#[derive(Default)]
pub struct IngestCounters {
    pub frames: AtomicU64,
    pub readings: AtomicU64,
    /// Unix ms of the last message taken in (a frame or a reading), 0 if none.
    last_taken_at: AtomicI64,
    dropped: [AtomicU64; DropReason::ALL.len()],
    log_gate: LogGate<{ DropReason::ALL.len() }>,
}

impl IngestCounters {
    pub fn last_taken_at(&self) -> Option<Millis> {
        Some(self.last_taken_at.load(Ordering::Relaxed)).filter(|t| *t != 0)
    }

    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped[reason as usize].load(Ordering::Relaxed)
    }

    pub fn dropped_all(&self) -> Vec<(&'static str, u64)> {
        DropReason::ALL
            .iter()
            .map(|r| (r.as_str(), self.dropped(*r)))
            .collect()
    }

    fn drop_message(&self, reason: DropReason, topic: &str, len: usize, now: Millis) {
        self.dropped[reason as usize].fetch_add(1, Ordering::Relaxed);
        let Some(suppressed) = self.log_gate.admit(reason as usize, now) else {
            return;
        };
        let topic: String = topic.chars().take(160).collect();
        tracing::warn!(
            reason = reason.as_str(),
            topic,
            bytes = len,
            suppressed,
            "mqtt: dropped message"
        );
    }
}

pub struct Ingest {
    live: Arc<Live>,
    store: Store,
    alerts: Arc<Alerts>,
    pub counters: IngestCounters,
}

impl Ingest {
    pub fn new(live: Arc<Live>, store: Store, alerts: Arc<Alerts>) -> Ingest {
        Ingest {
            live,
            store,
            alerts,
            counters: IngestCounters::default(),
        }
    }

    /// Handles one publish. Readings are queued for the store (waiting for
    /// room rather than losing them); frames only replace the live frame.
    pub async fn handle(&self, topic: &str, payload: Bytes, max_payload: usize) {
        // Nobody waits for the commit: the external broker acknowledged the
        // message to the cradle already.
        let _ = self.accept(topic, payload, max_payload).await;
    }

    /// Like [`Ingest::handle`], and tells when the message is safe: the
    /// returned [`Accepted`] resolves once a reading is committed (at once for
    /// frames and for dropped junk, which a resend would not improve). The
    /// hub's own MQTT endpoint acknowledges QoS 1 only then.
    pub async fn accept(&self, topic: &str, payload: Bytes, max_payload: usize) -> Accepted {
        let now = now_millis();
        let len = payload.len();
        match self.try_handle(topic, payload, max_payload, now).await {
            Ok(accepted) => accepted,
            Err(reason) => {
                self.counters.drop_message(reason, topic, len, now);
                Accepted::Done
            }
        }
    }

    async fn try_handle(
        &self,
        topic: &str,
        payload: Bytes,
        max_payload: usize,
        now: Millis,
    ) -> Result<Accepted, DropReason> {
        let (uuid, kind) = parse::parse_topic(topic)?;
        if payload.len() > max_payload {
            return Err(DropReason::Oversized);
        }
        let Some(cradle) = self.live.get(uuid) else {
            self.live.remember_unknown(uuid);
            return Err(DropReason::UnknownCradle);
        };
        let message = match parse::parse_payload(kind, &payload) {
            Ok(message) => message,
            Err(DropReason::BadTemperature) => {
                // Not a reading, but news: the thermometer is failing.
                cradle.unusable_temperature(now);
                return Err(DropReason::BadTemperature);
            }
            Err(other) => return Err(other),
        };
        match message {
            Message::Frame(jpeg) => {
                let frame = cradle.publish_frame(jpeg, now);
                self.counters.frames.fetch_add(1, Ordering::Relaxed);
                self.counters.last_taken_at.store(now, Ordering::Relaxed);
                self.alerts.on_frame(&cradle.uuid, &frame).await;
                Ok(Accepted::Done)
            }
            Message::Reading(reading) => {
                cradle.apply_reading(&reading, now);
                self.alerts.on_reading(&cradle.uuid, &reading, now).await;
                let uuid = cradle.uuid.clone();
                let committed = self
                    .store
                    .enqueue(move |c| sensors::insert(c, &uuid, now, &reading))
                    .await
                    .map_err(|_| DropReason::StoreUnavailable)?;
                self.counters.readings.fetch_add(1, Ordering::Relaxed);
                self.counters.last_taken_at.store(now, Ordering::Relaxed);
                Ok(Accepted::Committing(Box::pin(committed)))
            }
        }
    }
}

/// Where an accepted message stands.
pub enum Accepted {
    /// Nothing more will happen to it: shown live, or dropped and counted.
    Done,
    /// Queued for the store; resolves after the batch that holds it commits.
    Committing(BoxFuture<'static, Result<(), StoreError>>),
}

impl Accepted {
    /// Waits until the message is safe. `Err` means it was not stored, so
    /// it must not be acknowledged.
    pub async fn committed(self) -> Result<(), StoreError> {
        match self {
            Accepted::Done => Ok(()),
            Accepted::Committing(commit) => commit.await,
        }
    }
}
