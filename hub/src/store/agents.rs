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
    /// The address before the last change while claimed, and when it changed.
    pub previous_ip: Option<String>,
    pub ip_changed_at: Option<Millis>,
    /// argon2 hash of the password the cradle must send to the MQTT endpoint.
    pub mqtt_password_hash: Option<String>,
}

const COLUMNS: &str = "id, uuid, ip, owner_id, created_at, updated_at, previous_ip, ip_changed_at, mqtt_password_hash";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Agent> {
    Ok(Agent {
        id: r.get(0)?,
        uuid: r.get(1)?,
        ip: r.get(2)?,
        owner_id: r.get(3)?,
        created_at: r.get(4)?,
        updated_at: r.get(5)?,
        previous_ip: r.get(6)?,
        ip_changed_at: r.get(7)?,
        mqtt_password_hash: r.get(8)?,
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

/// What `/register_agent` did.
#[derive(Debug)]
pub struct Registered {
    pub agent: Agent,
    /// A claimed cradle came back with another address: the old one.
    pub ip_changed_from: Option<String>,
    /// Unclaimed cradles removed to stay within the cap (their data is
    /// queued for wiping).
    pub evicted: Vec<String>,
}

/// A cradle registering itself: creates it or updates its address (the
/// owner is kept). A claimed cradle's address change is remembered for its
/// owner. At most `max_unclaimed` unclaimed cradles are kept: the ones that
/// registered longest ago go first.
pub fn register(
    c: &Connection,
    uuid: &str,
    ip: &str,
    now: Millis,
    max_unclaimed: usize,
) -> rusqlite::Result<Registered> {
    let before = by_uuid(c, uuid)?;
    let mut agent = upsert(c, uuid, ip, now)?;
    let mut ip_changed_from = None;
    if let Some(b) = &before
        && b.owner_id.is_some()
        && !b.ip.is_empty()
        && b.ip != ip
    {
        c.execute(
            "UPDATE agents SET previous_ip = ?2, ip_changed_at = ?3 WHERE id = ?1",
            params![agent.id, b.ip, now],
        )?;
        agent.previous_ip = Some(b.ip.clone());
        agent.ip_changed_at = Some(now);
        ip_changed_from = Some(b.ip.clone());
    }
    let mut evicted = Vec::new();
    if before.is_none() {
        evicted = c
            .prepare_cached(
                "SELECT uuid FROM agents WHERE owner_id IS NULL
                 ORDER BY updated_at DESC, id DESC LIMIT -1 OFFSET ?1",
            )?
            .query_map([max_unclaimed as i64], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for old in &evicted {
            c.execute("DELETE FROM agents WHERE uuid = ?1", [old])?;
            c.execute("DELETE FROM alert_settings WHERE agent_uuid = ?1", [old])?;
            queue_wipe(c, old, now)?;
        }
    }
    Ok(Registered {
        agent,
        ip_changed_from,
        evicted,
    })
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

/// The cradles `user_id` owns or is a member of, with the role's name
/// (`owner`, `parent`, `viewer`), oldest first.
pub fn visible_to(c: &Connection, user_id: i64) -> rusqlite::Result<Vec<(Agent, String)>> {
    c.prepare_cached(&format!(
        "SELECT {COLUMNS}, 'owner' FROM agents WHERE owner_id = ?1
         UNION ALL
         SELECT {COLUMNS}, m.role FROM agents JOIN cradle_members m ON m.agent_uuid = agents.uuid
          WHERE m.user_id = ?1 AND agents.owner_id IS NOT NULL
         ORDER BY 1"
    ))?
    .query_map([user_id], |r| Ok((from_row(r)?, r.get(9)?)))?
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
    // The next owner sets an MQTT password of their own.
    c.execute(
        "UPDATE agents SET owner_id = NULL, previous_ip = NULL, ip_changed_at = NULL,
         mqtt_password_hash = NULL, updated_at = ?2 WHERE uuid = ?1",
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

/// Every cradle's last-seen time, where known.
pub fn last_seen_all(c: &Connection) -> rusqlite::Result<Vec<(String, Millis)>> {
    c.prepare("SELECT uuid, last_seen FROM agents WHERE last_seen IS NOT NULL")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

/// When the hub last saved the cradles' last-seen times (it was running).
pub fn save_hub_alive(c: &Connection, now: Millis) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO hub_meta (key, value) VALUES ('hub_alive_at', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute([now])?;
    Ok(())
}

pub fn hub_alive_at(c: &Connection) -> rusqlite::Result<Option<Millis>> {
    c.query_row(
        "SELECT value FROM hub_meta WHERE key = 'hub_alive_at'",
        [],
        |r| r.get(0),
    )
    .optional()
}

pub fn save_last_seen(c: &Connection, seen: &[(String, Millis)]) -> rusqlite::Result<()> {
    let mut update = c.prepare_cached(
        "UPDATE agents SET last_seen = max(COALESCE(last_seen, 0), ?2) WHERE uuid = ?1",
    )?;
    for (uuid, at) in seen {
        update.execute(params![uuid, at])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{test_store, users};

    #[tokio::test]
    async fn unclaimed_cradles_are_capped_oldest_registration_first() {
        let (store, _dir) = test_store();
        store
            .write(|c| {
                let ann = users::insert(c, "ann", "h", 0)?;
                register(c, "mine", "10.0.0.1", 1, 2)?;
                claim(c, "mine", ann, false, 1)?;
                for (i, uuid) in ["a", "b", "c"].into_iter().enumerate() {
                    let r = register(c, uuid, "10.0.0.2", 10 + i as i64, 2)?;
                    assert_eq!(r.evicted.is_empty(), uuid != "c", "{uuid}: {:?}", r.evicted);
                }
                Ok(())
            })
            .await
            .unwrap();
        let left: Vec<String> = store
            .read(|c| Ok(all(c)?.into_iter().map(|a| a.uuid).collect()))
            .await
            .unwrap();
        assert_eq!(left, ["mine", "b", "c"], "the claimed one is never evicted");
        let wipes = store.read(pending_wipes).await.unwrap();
        assert_eq!(
            wipes.iter().map(|w| w.0.as_str()).collect::<Vec<_>>(),
            ["a"]
        );
        // A re-registration refreshes a cradle: the other one goes next.
        let evicted = store
            .write(|c| {
                register(c, "b", "10.0.0.2", 20, 2)?;
                Ok(register(c, "d", "10.0.0.2", 21, 2)?.evicted)
            })
            .await
            .unwrap();
        assert_eq!(evicted, ["c"]);
    }

    #[tokio::test]
    async fn a_claimed_cradle_changing_address_is_remembered() {
        let (store, _dir) = test_store();
        let (first, unclaimed, claimed) = store
            .write(|c| {
                let ann = users::insert(c, "ann", "h", 0)?;
                let first = register(c, "x", "10.0.0.1", 1, 8)?;
                let unclaimed = register(c, "x", "10.0.0.2", 2, 8)?;
                claim(c, "x", ann, false, 3)?;
                let claimed = register(c, "x", "10.0.0.3", 4, 8)?;
                Ok((first, unclaimed, claimed))
            })
            .await
            .unwrap();
        assert!(first.ip_changed_from.is_none());
        assert!(unclaimed.ip_changed_from.is_none(), "nobody to tell");
        assert_eq!(claimed.ip_changed_from.as_deref(), Some("10.0.0.2"));
        assert_eq!(claimed.agent.ip, "10.0.0.3");
        assert_eq!(claimed.agent.previous_ip.as_deref(), Some("10.0.0.2"));
        assert_eq!(claimed.agent.ip_changed_at, Some(4));
    }

    #[tokio::test]
    async fn unclaim_queues_a_wipe_and_blocks_claims_until_done() {
        let (store, _dir) = test_store();
        let claim_again = store
            .write(|c| {
                let ann = users::insert(c, "ann", "h", 0)?;
                register(c, "x", "10.0.0.1", 1, 8)?;
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
