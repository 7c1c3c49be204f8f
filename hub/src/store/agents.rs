//! Queries on `agents` (cradles) and everything deleted with one.

use rusqlite::{Connection, OptionalExtension, params};

use crate::timefmt::Millis;

#[derive(Debug, Clone)]
pub struct Agent {
    pub id: i64,
    pub uuid: String,
    pub ip: String,
    pub owner_id: Option<i64>,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// argon2 hash of the password the cradle must send to the MQTT endpoint.
    pub mqtt_password_hash: Option<String>,
}

const COLUMNS: &str = "id, uuid, ip, owner_id, created_at, updated_at, mqtt_password_hash";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Agent> {
    Ok(Agent {
        id: r.get(0)?,
        uuid: r.get(1)?,
        ip: r.get(2)?,
        owner_id: r.get(3)?,
        created_at: r.get(4)?,
        updated_at: r.get(5)?,
        mqtt_password_hash: r.get(6)?,
    })
}

/// Creates the agent or updates its ip; the owner is kept.
pub fn upsert(c: &Connection, uuid: &str, ip: &str, now: Millis) -> rusqlite::Result<Agent> {
    c.execute(
        "INSERT INTO agents (uuid, ip, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)
         ON CONFLICT (uuid) DO UPDATE SET ip = excluded.ip, updated_at = excluded.updated_at",
        params![uuid, ip, now],
    )?;
    by_uuid(c, uuid)?.ok_or(rusqlite::Error::QueryReturnedNoRows)
}

pub fn by_uuid(c: &Connection, uuid: &str) -> rusqlite::Result<Option<Agent>> {
    c.prepare_cached(&format!("SELECT {COLUMNS} FROM agents WHERE uuid = ?1"))?
        .query_row([uuid], from_row)
        .optional()
}

pub fn all(c: &Connection) -> rusqlite::Result<Vec<Agent>> {
    c.prepare(&format!("SELECT {COLUMNS} FROM agents"))?
        .query_map([], from_row)?
        .collect()
}

pub fn owned_by(c: &Connection, user_id: i64) -> rusqlite::Result<Vec<Agent>> {
    c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM agents WHERE owner_id = ?1 ORDER BY id"
    ))?
    .query_map([user_id], from_row)?
    .collect()
}

pub enum Claim {
    Claimed(Agent),
    OwnedByOther,
    Unknown,
}

/// Gives an unowned cradle to `user_id`. `create_if_missing` covers a cradle
/// the hub has heard on MQTT whose `/register_agent` call never arrived.
pub fn claim(
    c: &Connection,
    uuid: &str,
    user_id: i64,
    create_if_missing: bool,
    now: Millis,
) -> rusqlite::Result<Claim> {
    let agent = match by_uuid(c, uuid)? {
        Some(a) => a,
        None if create_if_missing => upsert(c, uuid, "", now)?,
        None => return Ok(Claim::Unknown),
    };
    match agent.owner_id {
        Some(owner) if owner != user_id => Ok(Claim::OwnedByOther),
        _ => {
            c.execute(
                "UPDATE agents SET owner_id = ?2, updated_at = ?3 WHERE id = ?1",
                params![agent.id, user_id, now],
            )?;
            Ok(Claim::Claimed(Agent {
                owner_id: Some(user_id),
                updated_at: now,
                ..agent
            }))
        }
    }
}

/// Unclaims the cradle and deletes everything recorded about it. The agent
/// row stays (the cradle still exists and may be claimed again).
pub fn unclaim_and_wipe(c: &Connection, uuid: &str, now: Millis) -> rusqlite::Result<()> {
    // The next owner sets a password of their own.
    c.execute(
        "UPDATE agents SET owner_id = NULL, mqtt_password_hash = NULL, updated_at = ?2
         WHERE uuid = ?1",
        params![uuid, now],
    )?;
    c.execute("DELETE FROM sensor_data WHERE agent_uuid = ?1", [uuid])?;
    c.execute("DELETE FROM alert_logs WHERE agent_uuid = ?1", [uuid])?;
    c.execute("DELETE FROM video_frames WHERE agent_uuid = ?1", [uuid])?;
    c.execute("DELETE FROM alert_settings WHERE agent_uuid = ?1", [uuid])?;
    c.execute(
        "UPDATE sessions SET selected_cradle = NULL WHERE selected_cradle = ?1",
        [uuid],
    )?;
    Ok(())
}

/// Sets (or with `None` clears) the cradle's MQTT password hash.
pub fn set_mqtt_password(
    c: &Connection,
    uuid: &str,
    hash: Option<&str>,
    now: Millis,
) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE agents SET mqtt_password_hash = ?2, updated_at = ?3 WHERE uuid = ?1",
        params![uuid, hash, now],
    )?;
    Ok(())
}
