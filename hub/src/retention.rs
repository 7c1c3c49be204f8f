//! Keeps the database bounded: readings, alerts and recordings older than
//! the retention period go, and recorded frames never exceed the size cap
//! (oldest first). Deletes run in small chunks on the writer so ingest is
//! never held up for long.

use std::time::Duration;

use crate::store::{Store, StoreError, alerts, frames, sensors};
use crate::timefmt::{Millis, now_millis};

#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub days: u32,
    pub max_recording_bytes: i64,
}

const CHUNK: usize = 500;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub readings: usize,
    pub alerts: usize,
    pub expired_frames: usize,
    pub capped_frames: usize,
    pub capped_bytes: i64,
}

pub async fn sweep(store: &Store, policy: Retention, now: Millis) -> Result<Swept, StoreError> {
    let cutoff = now - Millis::from(policy.days) * 86_400_000;
    let mut swept = Swept {
        readings: store
            .write(move |c| sensors::delete_older_than(c, cutoff))
            .await?,
        alerts: store
            .write(move |c| alerts::delete_older_than(c, cutoff))
            .await?,
        ..Swept::default()
    };
    loop {
        let n = store
            .write(move |c| frames::delete_older_than(c, cutoff, CHUNK))
            .await?;
        swept.expired_frames += n;
        if n < CHUNK {
            break;
        }
    }
    let mut total = store.read(frames::total_bytes).await?;
    while total > policy.max_recording_bytes {
        let excess = total - policy.max_recording_bytes;
        let (n, bytes) = store
            .write(move |c| frames::delete_oldest(c, excess, CHUNK))
            .await?;
        if n == 0 {
            break;
        }
        swept.capped_frames += n;
        swept.capped_bytes += bytes;
        total -= bytes;
    }
    if swept.capped_frames > 0 {
        tracing::warn!(
            frames = swept.capped_frames,
            mb = swept.capped_bytes / (1024 * 1024),
            cap_mb = policy.max_recording_bytes / (1024 * 1024),
            "retention: recordings reached the size cap; oldest frames deleted"
        );
    }
    if swept != Swept::default() {
        tracing::info!(?swept, days = policy.days, "retention: swept old data");
    }
    Ok(swept)
}

pub fn spawn(store: Store, policy: Retention) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(600));
        loop {
            every.tick().await;
            if let Err(e) = sweep(&store, policy, now_millis()).await {
                tracing::warn!(error = %e, "retention: sweep failed");
            }
        }
    });
}
