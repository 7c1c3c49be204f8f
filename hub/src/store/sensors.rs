//! Queries on `sensor_data`: one row per reading as it arrived.

use rusqlite::{Connection, params};

use crate::readings::{Crying, Reading};
use crate::timefmt::Millis;

#[derive(Debug, Clone, PartialEq)]
pub struct SensorRow {
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

/// Readings with `from <= ts < to`, oldest first, at most `limit`.
pub fn range(
    c: &Connection,
    uuid: &str,
    from: Millis,
    to: Millis,
    limit: usize,
) -> rusqlite::Result<Vec<SensorRow>> {
    c.prepare_cached(
        "SELECT ts, temperature, crying, direction FROM sensor_data
         WHERE agent_uuid = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts, id LIMIT ?4",
    )?
    .query_map(params![uuid, from, to, limit as i64], |r| {
        Ok(SensorRow {
            ts: r.get(0)?,
            temperature: r.get(1)?,
            crying: r.get::<_, Option<String>>(2)?.map(|s| Crying::from_api(&s)),
            direction: r.get(3)?,
        })
    })?
    .collect()
}

pub fn delete_older_than(c: &Connection, cutoff: Millis) -> rusqlite::Result<usize> {
    c.execute("DELETE FROM sensor_data WHERE ts < ?1", [cutoff])
}
