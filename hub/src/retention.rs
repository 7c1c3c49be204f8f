//! Keeps the database bounded: readings, alerts and recordings older than
//! the retention period go, recorded frames never exceed the size cap
//! (oldest first), and a removed cradle's data is wiped.
//!
//! Every bulk delete is a series of short writer jobs: each deletes rows in
//! small steps, oldest first through an index (no table scan), and stops
//! after [`CHUNK_BUDGET`]; the next job is queued only once the previous one
//! is committed, so ingest and HTTP writes queued meanwhile go first. The
//! writer is never held for long, whatever the size of the table.

use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::store::{Store, StoreError, agents, aging, chunked, frames};
use crate::tasks::TaskHealth;
use crate::timefmt::{Millis, now_millis};

#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub days: u32,
    pub max_recording_bytes: i64,
}

/// Longest one maintenance job works before it lets the writer go on.
pub const CHUNK_BUDGET: Duration = Duration::from_millis(10);
/// Rows per DELETE statement (readings, alerts).
const STEP: usize = 256;
/// Frames per DELETE statement (each is tens of KB).
const FRAME_STEP: usize = 16;
const SWEEP_EVERY: Duration = Duration::from_secs(600);
/// The first sweep waits until the cradles have reconnected and the first
/// viewers are served: after a night off it may delete for a while.
const FIRST_SWEEP_AFTER: Duration = Duration::from_secs(60);
/// How often a write is tried while the disk is full, to notice space.
const DISK_PROBE_EVERY: Duration = Duration::from_secs(2);

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub readings: usize,
    pub alerts: usize,
    pub expired_frames: usize,
    pub motor_commands: usize,
    pub capped_frames: usize,
    pub capped_bytes: i64,
}

/// Runs `step(conn, rows)` in jobs of at most [`CHUNK_BUDGET`] until it
/// deletes fewer than `rows`; returns the rows deleted.
pub async fn drain<S>(store: &Store, rows: usize, step: S) -> Result<usize, StoreError>
where
    S: Fn(&Connection, usize) -> rusqlite::Result<usize> + Clone + Send + 'static,
{
    let mut total = 0;
    loop {
        let step = step.clone();
        let started = tokio::time::Instant::now();
        let (n, done) = store
            .write_bulk(move |c| chunked(c, CHUNK_BUDGET, rows, step))
            .await?;
        total += n;
        if done {
            return Ok(total);
        }
        pause_after(store, started.elapsed()).await;
    }
}

/// Between two chunks: as long again as the last one took (maintenance
/// uses at most about half of the writer's time and of the disk's
/// bandwidth), and while the WAL is large, until the checkpointer has
/// caught up (at most [`WAL_WAIT_MAX`]): back-to-back chunks never leave
/// it the moment it needs to restart the WAL, which then grows by hundreds
/// of MB.
async fn pause_after(store: &Store, chunk_took: Duration) {
    tokio::time::sleep(chunk_took.min(CHUNK_BUDGET * 5)).await;
    let started = tokio::time::Instant::now();
    while store.wal_pressure() && started.elapsed() < WAL_WAIT_MAX {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Longest pause for the checkpointer between two chunks.
const WAL_WAIT_MAX: Duration = Duration::from_secs(2);

pub async fn sweep(store: &Store, policy: Retention, now: Millis) -> Result<Swept, StoreError> {
    let cutoff = now - Millis::from(policy.days) * 86_400_000;
    let mut swept = Swept {
        readings: drain(store, STEP, move |c, n| {
            aging::SENSOR_DATA.delete_older_than(c, cutoff, n)
        })
        .await?,
        alerts: drain(store, STEP, move |c, n| {
            aging::ALERT_LOGS.delete_older_than(c, cutoff, n)
        })
        .await?,
        expired_frames: drain(store, FRAME_STEP, move |c, n| {
            aging::VIDEO_FRAMES.delete_older_than(c, cutoff, n)
        })
        .await?,
        motor_commands: drain(store, STEP, move |c, n| {
            aging::MOTOR_LOG.delete_older_than(c, cutoff, n)
        })
        .await?,
        ..Swept::default()
    };
    // Delta sync's tombstones of deleted notifications.
    drain(store, STEP, move |c, n| {
        aging::NOTIFICATION_DELETIONS.delete_older_than(c, cutoff, n)
    })
    .await?;
    let mut total = store.read(frames::total_bytes).await?;
    while total > policy.max_recording_bytes {
        let excess = total - policy.max_recording_bytes;
        let chunk_started = tokio::time::Instant::now();
        let (n, bytes) = store
            .write_bulk(move |c| {
                let started = std::time::Instant::now();
                let (mut n, mut bytes) = (0, 0);
                while bytes < excess && started.elapsed() < CHUNK_BUDGET {
                    let (k, b) = frames::delete_oldest(c, excess - bytes, FRAME_STEP)?;
                    if k == 0 {
                        break;
                    }
                    n += k;
                    bytes += b;
                }
                Ok((n, bytes))
            })
            .await?;
        if n == 0 {
            break;
        }
        swept.capped_frames += n;
        swept.capped_bytes += bytes;
        total -= bytes;
        pause_after(store, chunk_started.elapsed()).await;
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

/// Deletes a removed cradle's readings, frames and alerts older than
/// `upto`, in chunks, then marks its wipe done.
pub async fn wipe(store: &Store, uuid: &str, upto: Millis) -> Result<usize, StoreError> {
    let u = uuid.to_owned();
    let mut n = drain(store, STEP, move |c, n| {
        aging::SENSOR_DATA.delete_for_cradle(c, &u, upto, n)
    })
    .await?;
    let u = uuid.to_owned();
    n += drain(store, FRAME_STEP, move |c, n| {
        aging::VIDEO_FRAMES.delete_for_cradle(c, &u, upto, n)
    })
    .await?;
    let u = uuid.to_owned();
    n += drain(store, STEP, move |c, n| {
        aging::ALERT_LOGS.delete_for_cradle(c, &u, upto, n)
    })
    .await?;
    let u = uuid.to_owned();
    n += drain(store, STEP, move |c, n| {
        aging::MOTOR_LOG.delete_for_cradle(c, &u, upto, n)
    })
    .await?;
    let u = uuid.to_owned();
    store
        .write_waiting(move |c| agents::wipe_done(c, &u, upto))
        .await?;
    tracing::info!(uuid, rows = n, "retention: removed cradle's data wiped");
    Ok(n)
}

/// Background maintenance: the periodic sweep, queued wipes, and a probe
/// write while the disk is full (so writing resumes as soon as space is back).
pub struct Maintenance {
    store: Store,
    policy: Retention,
    wake: Notify,
    sweep_now: Notify,
}

impl Maintenance {
    pub fn new(store: Store, policy: Retention) -> Arc<Maintenance> {
        Arc::new(Maintenance {
            store,
            policy,
            wake: Notify::new(),
            sweep_now: Notify::new(),
        })
    }

    /// A wipe was queued: do it now rather than at the next sweep.
    pub fn wipe_soon(&self) {
        self.wake.notify_one();
    }

    /// Sweeps now rather than at the next scheduled sweep (benchmarks, and
    /// the soak, which measures a hub while it deletes).
    pub fn sweep_soon(&self) {
        self.sweep_now.notify_one();
    }

    /// Completes the cradle's pending wipe, if any (before it is claimed again).
    pub async fn finish_wipe(&self, uuid: &str) -> Result<(), StoreError> {
        let u = uuid.to_owned();
        if let Some(upto) = self
            .store
            .read(move |c| agents::pending_wipe(c, &u))
            .await?
        {
            wipe(&self.store, uuid, upto).await?;
        }
        Ok(())
    }

    pub async fn pending_wipes(&self) -> Result<(), StoreError> {
        for (uuid, upto) in self.store.read(agents::pending_wipes).await? {
            wipe(&self.store, &uuid, upto).await?;
        }
        Ok(())
    }

    async fn probe_disk(&self) {
        let now = now_millis();
        let _ = self
            .store
            .write_waiting(move |c| {
                c.execute(
                    "INSERT INTO hub_meta (key, value) VALUES ('disk_probe', ?1)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [now],
                )
            })
            .await;
    }

    /// The maintenance task: runs until `token` is cancelled.
    pub async fn run(self: Arc<Self>, token: CancellationToken, health: Arc<TaskHealth>) {
        let mut sweep_at =
            tokio::time::interval_at(tokio::time::Instant::now() + FIRST_SWEEP_AFTER, SWEEP_EVERY);
        sweep_at.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut probe_at = tokio::time::interval(DISK_PROBE_EVERY);
        probe_at.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Wipes left from before a restart go on at once.
        self.wake.notify_one();
        loop {
            health.beat_now();
            let work = async {
                tokio::select! {
                    _ = async {
                        tokio::select! {
                            _ = sweep_at.tick() => {}
                            _ = self.sweep_now.notified() => {}
                        }
                    } => {
                        if let Err(e) = self.pending_wipes().await {
                            tracing::warn!(error = %e, "retention: wipe failed");
                        }
                        if let Err(e) = sweep(&self.store, self.policy, now_millis()).await {
                            tracing::warn!(error = %e, "retention: sweep failed");
                        }
                    }
                    _ = self.wake.notified() => {
                        if let Err(e) = self.pending_wipes().await {
                            tracing::warn!(error = %e, "retention: wipe failed");
                        }
                    }
                    _ = probe_at.tick() => if self.store.disk_full() { self.probe_disk().await },
                }
            };
            tokio::select! {
                _ = token.cancelled() => return,
                _ = work => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::readings::Reading;
    use crate::store::{sensors, test_store};

    const DAY: Millis = 86_400_000;

    #[tokio::test]
    async fn sweep_deletes_old_rows_in_chunks_and_keeps_new_ones() {
        let (store, _dir) = test_store();
        let now = 100 * DAY;
        store
            .write(move |c| {
                for i in 0..3000 {
                    let ts = if i % 3 == 0 {
                        now - 40 * DAY + i
                    } else {
                        now - i
                    };
                    sensors::insert(c, "a", ts, &Reading::Temperature(36.6))?;
                }
                Ok(())
            })
            .await
            .unwrap();
        let batches_before = store
            .stats()
            .batches
            .load(std::sync::atomic::Ordering::Relaxed);
        let swept = sweep(
            &store,
            Retention {
                days: 30,
                max_recording_bytes: i64::MAX,
            },
            now,
        )
        .await
        .unwrap();
        assert_eq!(swept.readings, 1000);
        let left = store
            .read(|c| {
                c.query_row("SELECT count(*) FROM sensor_data", [], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .await
            .unwrap();
        assert_eq!(left, 2000);
        assert!(
            store
                .stats()
                .batches
                .load(std::sync::atomic::Ordering::Relaxed)
                > batches_before,
            "deleted through the writer"
        );
    }

    /// Defect: retention deleted in one statement through a table scan, on
    /// the only writer: ingest and HTTP writes waited for all of it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn retention_over_a_big_table_does_not_stall_ingest() {
        const OLD: i64 = 600_000;
        let (store, _dir) = test_store();
        let now = 100 * DAY;
        store
            .write(move |c| {
                c.execute(
                    "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1)
                     INSERT INTO sensor_data (agent_uuid, ts, temperature)
                     SELECT 'old-' || (i % 4), ?2 + i, 36.6 FROM n",
                    rusqlite::params![OLD, now - 40 * DAY],
                )
            })
            .await
            .unwrap();
        // The sweep starts with the table on disk, not in the WAL.
        store
            .write(|c| c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())))
            .await
            .unwrap();
        let policy = Retention {
            days: 30,
            max_recording_bytes: i64::MAX,
        };
        let sweeper = {
            let store = store.clone();
            tokio::spawn(async move { sweep(&store, policy, now).await })
        };
        // Ingest goes on meanwhile: a reading every 2 ms, each timed until committed.
        let mut worst = Duration::ZERO;
        let mut writes = 0;
        while !sweeper.is_finished() {
            let t = std::time::Instant::now();
            store
                .write(move |c| sensors::insert(c, "live", now, &Reading::Temperature(36.6)))
                .await
                .unwrap();
            worst = worst.max(t.elapsed());
            writes += 1;
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let swept = sweeper.await.unwrap().unwrap();
        assert_eq!(swept.readings, OLD as usize);
        eprintln!("retention of {OLD} rows: {writes} ingest writes, worst wait {worst:?}");
        // Each job takes ~10 ms; the bound leaves room for a busy CI machine.
        assert!(
            worst < Duration::from_millis(500),
            "an ingest write waited {worst:?} behind retention"
        );
        assert!(writes > 10, "ingest ran during the sweep ({writes} writes)");
    }

    #[tokio::test]
    async fn maintenance_deletes_use_indexes_not_table_scans() {
        let (store, _dir) = test_store();
        let plans = store
            .read(|c| {
                let plan = |sql: &str| -> rusqlite::Result<String> {
                    let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                    let rows = stmt
                        .query_map([], |r| r.get::<_, String>(3))?
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    Ok(rows.join("; "))
                };
                Ok(vec![
                    plan("SELECT id FROM sensor_data WHERE ts < 5 ORDER BY ts LIMIT 10")?,
                    plan("SELECT id FROM video_frames WHERE ts < 5 ORDER BY ts LIMIT 10")?,
                    plan("SELECT id, bytes FROM video_frames ORDER BY ts, id LIMIT 10")?,
                    plan("SELECT id FROM alert_logs WHERE created_at < 5 ORDER BY created_at LIMIT 10")?,
                    plan("SELECT id FROM sensor_data WHERE agent_uuid = 'a' AND ts < 5 ORDER BY ts LIMIT 10")?,
                    plan("SELECT id FROM video_frames WHERE agent_uuid = 'a' AND ts < 5 ORDER BY ts LIMIT 10")?,
                    plan("SELECT id FROM alert_logs WHERE agent_uuid = 'a' AND created_at < 5 ORDER BY created_at LIMIT 10")?,
                ])
            })
            .await
            .unwrap();
        for p in plans {
            assert!(p.contains("USING") && p.contains("INDEX"), "{p}");
            assert!(!p.contains("TEMP B-TREE"), "sorts without the index: {p}");
        }
    }
}
