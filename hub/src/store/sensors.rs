//! Queries on `sensor_data`: one row per reading as it arrived.

use rusqlite::{Connection, params};

use crate::readings::{Crying, Reading};
use crate::timefmt::Millis;

#[derive(Debug, Clone, PartialEq)]
pub struct SensorRow {
    pub id: i64,
    pub ts: Millis,
    pub temperature: Option<f64>,
    pub crying: Option<Crying>,
    pub direction: Option<String>,
}

pub fn insert(c: &Connection, uuid: &str, ts: Millis, reading: &Reading) -> rusqlite::Result<()> {
    let mut stmt = c.prepare_cached(
        "INSERT INTO sensor_data (agent_uuid, ts, temperature, crying, probability, direction)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    match reading {
        Reading::Temperature(t) => stmt.execute(params![
            uuid,
            ts,
            t,
            None::<&str>,
            None::<f64>,
            None::<&str>
        ])?,
        Reading::Crying {
            crying,
            probability,
        } => stmt.execute(params![
            uuid,
            ts,
            None::<f64>,
            crying.as_str(),
            probability,
            None::<&str>
        ])?,
        Reading::Direction(d) => stmt.execute(params![
            uuid,
            ts,
            None::<f64>,
            None::<&str>,
            None::<f64>,
            d.raw()
        ])?,
    };
    Ok(())
}

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SensorRow> {
    Ok(SensorRow {
        id: r.get(0)?,
        ts: r.get(1)?,
        temperature: r.get(2)?,
        crying: r.get::<_, Option<String>>(3)?.map(|s| Crying::from_api(&s)),
        direction: r.get(4)?,
    })
}

/// Readings with `from <= ts < to`, oldest first, at most `limit`.
pub fn range(
    c: &Connection,
    uuid: &str,
    from: Millis,
    to: Millis,
    limit: usize,
) -> rusqlite::Result<Vec<SensorRow>> {
    c.prepare_cached(
        "SELECT id, ts, temperature, crying, direction FROM sensor_data
         WHERE agent_uuid = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts, id LIMIT ?4",
    )?
    .query_map(params![uuid, from, to, limit as i64], from_row)?
    .collect()
}

/// Like [`range`], but only the rows after `after` (the last row of the
/// previous page, in `(ts, id)` order): one page of a long range.
pub fn page(
    c: &Connection,
    uuid: &str,
    from: Millis,
    to: Millis,
    after: Option<(Millis, i64)>,
    limit: usize,
) -> rusqlite::Result<Vec<SensorRow>> {
    let Some((ts, id)) = after else {
        return range(c, uuid, from, to, limit);
    };
    c.prepare_cached(
        "SELECT id, ts, temperature, crying, direction FROM sensor_data
         WHERE agent_uuid = ?1 AND ts >= ?2 AND ts < ?3 AND (ts, id) > (?4, ?5)
         ORDER BY ts, id LIMIT ?6",
    )?
    .query_map(params![uuid, from, to, ts, id, limit as i64], from_row)?
    .collect()
}

/// How many readings `from <= ts < to` has, counting no further than `max`.
pub fn count_up_to(
    c: &Connection,
    uuid: &str,
    from: Millis,
    to: Millis,
    max: usize,
) -> rusqlite::Result<usize> {
    c.prepare_cached(
        "SELECT count(*) FROM (SELECT 1 FROM sensor_data
         WHERE agent_uuid = ?1 AND ts >= ?2 AND ts < ?3 LIMIT ?4)",
    )?
    .query_row(params![uuid, from, to, max as i64], |r| {
        r.get::<_, i64>(0).map(|n| n as usize)
    })
}
