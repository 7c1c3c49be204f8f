//! A synthetic backlog of old readings, for measuring retention: the
//! `retention_load` example and `cradle-hub bench --old-readings`
//! (through the hidden `cradle-hub seed-old-readings`).

use std::path::Path;
use std::time::Duration;

use super::{Store, StoreError};
use crate::timefmt::{Millis, now_millis};

/// Fills the database in `data_dir` with `rows` readings `days_old` days
/// old, spread over 4 cradles (`load-0` … `load-3`), ten a second, 200 000
/// per job; then checkpoints (a hub that has been running keeps its data
/// in the database file, not in the WAL) and closes the store.
pub async fn seed_old_readings(
    data_dir: &Path,
    rows: i64,
    days_old: i64,
) -> Result<(), StoreError> {
    let store = Store::open(data_dir)?;
    let old: Millis = now_millis() - days_old * 86_400_000;
    let mut done = 0;
    while done < rows {
        let n = (rows - done).min(200_000);
        let from = done;
        store
            .write_waiting(move |c| {
                c.execute(
                    "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1)
                     INSERT INTO sensor_data (agent_uuid, ts, temperature, direction)
                     SELECT 'load-' || ((?2 + i) % 4), ?3 + (?2 + i) / 10,
                            CASE WHEN i % 11 = 0 THEN 36.6 END,
                            CASE WHEN i % 11 <> 0 THEN '정면 유지 중' END
                     FROM n",
                    rusqlite::params![n, from, old],
                )
            })
            .await?;
        done += n;
    }
    store
        .write_waiting(|c| c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())))
        .await?;
    store.close(Duration::from_secs(60)).await
}
