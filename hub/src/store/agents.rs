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
}

const COLUMNS: &str = "id, uuid, ip, owner_id, created_at, updated_at";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Agent> {
    Ok(Agent {
        id: r.get(0)?,
        uuid: r.get(1)?,
        ip: r.get(2)?,
        owner_id: r.get(3)?,
        created_at: r.get(4)?,
        updated_at: r.get(5)?,
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
    /// Its previous owner's data is still being deleted: finish that first.
    WipePending,
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
    if pending_wipe(c, uuid)?.is_some() {
        return Ok(Claim::WipePending);
    }
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

/// Unclaims the cradle, forgets its settings and queues the deletion of
/// everything recorded about it before `now` (done in chunks by
/// `retention::wipe`; the cradle cannot be claimed again until then). The
/// agent row stays (the cradle still exists and may be claimed again).
pub fn unclaim(c: &Connection, uuid: &str, now: Millis) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE agents SET owner_id = NULL, updated_at = ?2 WHERE uuid = ?1",
        params![uuid, now],
    )?;
    c.execute("DELETE FROM alert_settings WHERE agent_uuid = ?1", [uuid])?;
    c.execute(
        "UPDATE sessions SET selected_cradle = NULL WHERE selected_cradle = ?1",
        [uuid],
    )?;
    queue_wipe(c, uuid, now)
}

/// Rows of `uuid` older than `upto` are to be deleted.
pub fn queue_wipe(c: &Connection, uuid: &str, upto: Millis) -> rusqlite::Result<()> {
    // +1: the rows stamped in the same millisecond go too.
    c.execute(
        "INSERT INTO pending_wipes (agent_uuid, upto) VALUES (?1, ?2)
         ON CONFLICT (agent_uuid) DO UPDATE SET upto = max(upto, excluded.upto)",
        params![uuid, upto + 1],
    )?;
    Ok(())
}

pub fn pending_wipe(c: &Connection, uuid: &str) -> rusqlite::Result<Option<Millis>> {
    c.prepare_cached("SELECT upto FROM pending_wipes WHERE agent_uuid = ?1")?
        .query_row([uuid], |r| r.get(0))
        .optional()
}

pub fn pending_wipes(c: &Connection) -> rusqlite::Result<Vec<(String, Millis)>> {
    c.prepare_cached("SELECT agent_uuid, upto FROM pending_wipes")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

/// The wipe up to `upto` is complete (a later one queued meanwhile stays).
pub fn wipe_done(c: &Connection, uuid: &str, upto: Millis) -> rusqlite::Result<()> {
    c.execute(
        "DELETE FROM pending_wipes WHERE agent_uuid = ?1 AND upto = ?2",
        params![uuid, upto],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{test_store, users};

    #[tokio::test]
    async fn unclaim_queues_a_wipe_and_blocks_claims_until_done() {
        let (store, _dir) = test_store();
        let claim_again = store
            .write(|c| {
                let ann = users::insert(c, "ann", "h", 0)?;
                upsert(c, "x", "10.0.0.1", 1)?;
                claim(c, "x", ann, false, 2)?;
                unclaim(c, "x", 100)?;
                assert_eq!(pending_wipe(c, "x")?, Some(101));
                let blocked = matches!(claim(c, "x", ann, false, 3)?, Claim::WipePending);
                wipe_done(c, "x", 101)?;
                Ok(blocked && matches!(claim(c, "x", ann, false, 4)?, Claim::Claimed(_)))
            })
            .await
            .unwrap();
        assert!(claim_again);
    }
}
