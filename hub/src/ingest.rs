//! From one MQTT publish to live state and the store. Transport-agnostic:
//! the MQTT client hands over (topic, payload) and nothing else.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use parking_lot::Mutex;

use crate::alerts::Alerts;
use crate::live::Live;
use crate::mqtt::parse::{self, DropReason, Message};
use crate::store::{Store, sensors};
use crate::timefmt::{Millis, now_millis};

#[derive(Default)]
pub struct IngestCounters {
    pub frames: AtomicU64,
    pub readings: AtomicU64,
    dropped: [AtomicU64; DropReason::ALL.len()],
    /// Per-reason second of the last drop log line, and how many were not logged since.
    log_gate: Mutex<[(Millis, u64); DropReason::ALL.len()]>,
}

impl IngestCounters {
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
        // One line per message, but a flood of junk logs once a second per reason.
        let suppressed = {
            let mut gate = self.log_gate.lock();
            let (last, suppressed) = &mut gate[reason as usize];
            if now - *last < 1000 {
                *suppressed += 1;
                return;
            }
            *last = now;
            std::mem::take(suppressed)
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
        let now = now_millis();
        if let Err(reason) = self
            .try_handle(topic, payload.clone(), max_payload, now)
            .await
        {
            self.counters
                .drop_message(reason, topic, payload.len(), now);
        }
    }

    async fn try_handle(
        &self,
        topic: &str,
        payload: Bytes,
        max_payload: usize,
        now: Millis,
    ) -> Result<(), DropReason> {
        let (uuid, kind) = parse::parse_topic(topic)?;
        if payload.len() > max_payload {
            return Err(DropReason::Oversized);
        }
        let Some(cradle) = self.live.get(uuid) else {
            self.live.remember_unknown(uuid);
            return Err(DropReason::UnknownCradle);
        };
        match parse::parse_payload(kind, &payload)? {
            Message::Frame(jpeg) => {
                let frame = cradle.publish_frame(jpeg, now);
                self.counters.frames.fetch_add(1, Ordering::Relaxed);
                self.alerts.on_frame(&cradle.uuid, &frame).await;
            }
            Message::Reading(reading) => {
                cradle.apply_reading(&reading, now);
                self.alerts.on_reading(&cradle.uuid, &reading, now).await;
                let uuid = cradle.uuid.clone();
                self.store
                    .write_detached("sensor reading", move |c| {
                        sensors::insert(c, &uuid, now, &reading)
                    })
                    .await
                    .map_err(|_| DropReason::StoreUnavailable)?;
                self.counters.readings.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(())
    }
}
