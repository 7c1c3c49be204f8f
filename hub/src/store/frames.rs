//! Queries on `video_frames` and `alert_frames`: recorded JPEGs as the
//! cradle sent them, shared by overlapping alerts.

use rusqlite::{Connection, OptionalExtension, params};

use crate::timefmt::Millis;

pub fn insert(
    c: &Connection,
    id: i64,
    uuid: &str,
    ts: Millis,
    jpeg: &[u8],
) -> rusqlite::Result<()> {
    c.prepare_cached("INSERT OR IGNORE INTO video_frames (id, agent_uuid, ts, bytes, jpeg) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![id, uuid, ts, jpeg.len() as i64, jpeg])?;
    Ok(())
}

pub fn link(c: &Connection, alert_id: i64, frame_id: i64) -> rusqlite::Result<()> {
    c.prepare_cached("INSERT OR IGNORE INTO alert_frames (alert_id, frame_id) VALUES (?1, ?2)")?
        .execute(params![alert_id, frame_id])?;
    Ok(())
}

/// (id, ts) of an alert's frames in time order.
pub fn for_alert(c: &Connection, alert_id: i64) -> rusqlite::Result<Vec<(i64, Millis)>> {
    c.prepare_cached(
        "SELECT f.id, f.ts FROM alert_frames af JOIN video_frames f ON f.id = af.frame_id
         WHERE af.alert_id = ?1 ORDER BY f.ts, f.id",
    )?
    .query_map([alert_id], |r| Ok((r.get(0)?, r.get(1)?)))?
    .collect()
}

pub fn jpegs_for_alert(c: &Connection, alert_id: i64) -> rusqlite::Result<Vec<(Millis, Vec<u8>)>> {
    c.prepare_cached(
        "SELECT f.ts, f.jpeg FROM alert_frames af JOIN video_frames f ON f.id = af.frame_id
         WHERE af.alert_id = ?1 ORDER BY f.ts, f.id",
    )?
    .query_map([alert_id], |r| Ok((r.get(0)?, r.get(1)?)))?
    .collect()
}

pub fn jpegs_in_range(
    c: &Connection,
    uuid: &str,
    from: Millis,
    to: Millis,
) -> rusqlite::Result<Vec<(Millis, Vec<u8>)>> {
    c.prepare_cached(
        "SELECT ts, jpeg FROM video_frames WHERE agent_uuid = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts, id",
    )?
    .query_map(params![uuid, from, to], |r| Ok((r.get(0)?, r.get(1)?)))?
    .collect()
}

/// The frame's cradle and bytes.
pub fn jpeg(c: &Connection, id: i64) -> rusqlite::Result<Option<(String, Vec<u8>)>> {
    c.prepare_cached("SELECT agent_uuid, jpeg FROM video_frames WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
}

/// Minutes (start times) with recorded frames for a cradle in a range.
pub fn minutes(
    c: &Connection,
    uuid: &str,
    from: Millis,
    to: Millis,
) -> rusqlite::Result<Vec<(Millis, i64)>> {
    c.prepare_cached(
        "SELECT (ts / 60000) * 60000 AS minute, COUNT(*) FROM video_frames
         WHERE agent_uuid = ?1 AND ts >= ?2 AND ts < ?3 GROUP BY minute ORDER BY minute",
    )?
    .query_map(params![uuid, from, to], |r| Ok((r.get(0)?, r.get(1)?)))?
    .collect()
}

/// The highest frame id ever stored, deleted ones included.
pub fn max_id(c: &Connection) -> rusqlite::Result<i64> {
    super::high_id(c, "video_frames")
}

pub fn total_bytes(c: &Connection) -> rusqlite::Result<i64> {
    c.query_row(
        "SELECT COALESCE(SUM(bytes), 0) FROM video_frames",
        [],
        |r| r.get(0),
    )
}

/// Deletes the oldest frames until at least `excess` bytes are freed (at
/// most `limit` frames per call); returns (frames, bytes) freed.
pub fn delete_oldest(c: &Connection, excess: i64, limit: usize) -> rusqlite::Result<(usize, i64)> {
    let mut ids = Vec::new();
    let mut freed = 0i64;
    {
        let mut stmt =
            c.prepare_cached("SELECT id, bytes FROM video_frames ORDER BY ts, id LIMIT ?1")?;
        let mut rows = stmt.query([limit as i64])?;
        while let Some(row) = rows.next()? {
            if freed >= excess {
                break;
            }
            ids.push(row.get::<_, i64>(0)?);
            freed += row.get::<_, i64>(1)?;
        }
    }
    let mut delete = c.prepare_cached("DELETE FROM video_frames WHERE id = ?1")?;
    for id in &ids {
        delete.execute([id])?;
    }
    Ok((ids.len(), freed))
}
