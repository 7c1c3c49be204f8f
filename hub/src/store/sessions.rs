//! Queries on `sessions`. Only the SHA-256 of a session token is stored.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::timefmt::Millis;

/// A session as stored. `expires_at` is the nearer of the idle deadline and
/// `ends_at`.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub token_hash: [u8; 32],
    pub public_id: String,
    pub user_id: i64,
    pub username: String,
    pub selected_cradle: Option<String>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub created_at: Millis,
    pub last_seen_at: Millis,
    pub expires_at: Millis,
    pub ends_at: Millis,
}

pub struct NewSession<'a> {
    pub token_hash: &'a [u8; 32],
    pub public_id: &'a str,
    pub user_id: i64,
    pub user_agent: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub now: Millis,
    pub expires_at: Millis,
    pub ends_at: Millis,
}

pub fn insert(c: &Connection, s: &NewSession) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO sessions (token_hash, public_id, user_id, user_agent, ip, created_at,
                               last_seen_at, expires_at, ends_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8)",
        params![
            &s.token_hash[..],
            s.public_id,
            s.user_id,
            s.user_agent,
            s.ip,
            s.now,
            s.expires_at,
            s.ends_at
        ],
    )?;
    Ok(())
}

const COLUMNS: &str = "s.token_hash, s.public_id, s.user_id, u.username, s.selected_cradle,
     s.user_agent, s.ip, s.created_at, COALESCE(s.last_seen_at, s.created_at), s.expires_at,
     COALESCE(s.ends_at, s.expires_at)";

fn row(r: &Row) -> rusqlite::Result<SessionRow> {
    let hash: Vec<u8> = r.get(0)?;
    Ok(SessionRow {
        token_hash: hash.try_into().unwrap_or([0; 32]),
        public_id: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
        user_id: r.get(2)?,
        username: r.get(3)?,
        selected_cradle: r.get(4)?,
        user_agent: r.get(5)?,
        ip: r.get(6)?,
        created_at: r.get(7)?,
        last_seen_at: r.get(8)?,
        expires_at: r.get(9)?,
        ends_at: r.get(10)?,
    })
}

pub fn lookup(
    c: &Connection,
    token_hash: &[u8],
    now: Millis,
) -> rusqlite::Result<Option<SessionRow>> {
    c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = ?1 AND s.expires_at > ?2"
    ))?
    .query_row(params![token_hash, now], row)
    .optional()
}

/// Live sessions last used from `ip` after `since`: `(user_id, public_id,
/// username)`.
pub fn live_at_ip(
    c: &Connection,
    ip: &str,
    now: Millis,
    since: Millis,
) -> rusqlite::Result<Vec<(i64, String, String)>> {
    c.prepare_cached(
        "SELECT s.user_id, s.public_id, u.username FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.ip = ?1 AND s.expires_at > ?2 AND s.public_id IS NOT NULL
           AND COALESCE(s.last_seen_at, s.created_at) > ?3",
    )?
    .query_map(params![ip, now, since], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })?
    .collect()
}

pub fn lookup_public(
    c: &Connection,
    public_id: &str,
    now: Millis,
) -> rusqlite::Result<Option<SessionRow>> {
    c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.public_id = ?1 AND s.expires_at > ?2"
    ))?
    .query_row(params![public_id, now], row)
    .optional()
}

/// A user's live sessions, most recently used first.
pub fn of_user(c: &Connection, user_id: i64, now: Millis) -> rusqlite::Result<Vec<SessionRow>> {
    c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.user_id = ?1 AND s.expires_at > ?2
         ORDER BY COALESCE(s.last_seen_at, s.created_at) DESC"
    ))?
    .query_map(params![user_id, now], row)?
    .collect()
}

/// Records use of a session (written at most every few minutes per session).
pub fn touch(
    c: &Connection,
    token_hash: &[u8],
    last_seen_at: Millis,
    ip: Option<&str>,
    expires_at: Millis,
) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE sessions SET last_seen_at = ?2, ip = COALESCE(?3, ip), expires_at = ?4
         WHERE token_hash = ?1",
        params![token_hash, last_seen_at, ip, expires_at],
    )?;
    Ok(())
}

pub fn delete(c: &Connection, token_hash: &[u8]) -> rusqlite::Result<()> {
    c.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
    Ok(())
}

/// Deletes the user's session named `public_id`; its token hash if it was there.
pub fn delete_public(
    c: &Connection,
    user_id: i64,
    public_id: &str,
) -> rusqlite::Result<Option<[u8; 32]>> {
    let hash: Option<Vec<u8>> = c
        .query_row(
            "DELETE FROM sessions WHERE user_id = ?1 AND public_id = ?2 RETURNING token_hash",
            params![user_id, public_id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(hash.and_then(|h| h.try_into().ok()))
}

/// Deletes all of a user's sessions but `keep`; the token hashes deleted.
pub fn delete_user_sessions(
    c: &Connection,
    user_id: i64,
    keep: Option<&[u8; 32]>,
) -> rusqlite::Result<Vec<[u8; 32]>> {
    let keep: &[u8] = keep.map_or(&[], |k| &k[..]);
    let mut stmt = c.prepare_cached(
        "DELETE FROM sessions WHERE user_id = ?1 AND token_hash != ?2 RETURNING token_hash",
    )?;
    let hashes = stmt
        .query_map(params![user_id, keep], |r| r.get::<_, Vec<u8>>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(hashes
        .into_iter()
        .filter_map(|h| h.try_into().ok())
        .collect())
}

pub fn select_cradle(
    c: &Connection,
    token_hash: &[u8],
    uuid: Option<&str>,
) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE sessions SET selected_cradle = ?2 WHERE token_hash = ?1",
        params![token_hash, uuid],
    )?;
    Ok(())
}

pub fn delete_expired(c: &Connection, now: Millis) -> rusqlite::Result<usize> {
    c.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])
}

/// `hub_meta` keys of revocations made by another process (an admin
/// command), which a running hub's session cache cannot see by itself: the
/// command bumps the first in the transaction that deletes the sessions;
/// the hub, once its cache has dropped them, writes what it saw into the
/// second, which the command waits for.
const OUTSIDE_REVOCATIONS: &str = "sessions_revoked_outside";
const OUTSIDE_REVOCATIONS_SEEN: &str = "sessions_revoked_outside_seen";

fn meta(c: &Connection, key: &str) -> rusqlite::Result<i64> {
    Ok(
        c.prepare_cached("SELECT value FROM hub_meta WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?
            .unwrap_or(0),
    )
}

/// Counts a revocation made outside the hub; the new count.
pub fn revoked_outside(c: &Connection) -> rusqlite::Result<i64> {
    c.query_row(
        "INSERT INTO hub_meta (key, value) VALUES (?1, 1)
         ON CONFLICT (key) DO UPDATE SET value = value + 1 RETURNING value",
        [OUTSIDE_REVOCATIONS],
        |r| r.get(0),
    )
}

/// (revocations made outside, the last of them a running hub has applied).
pub fn outside_revocations(c: &Connection) -> rusqlite::Result<(i64, i64)> {
    Ok((
        meta(c, OUTSIDE_REVOCATIONS)?,
        meta(c, OUTSIDE_REVOCATIONS_SEEN)?,
    ))
}

/// The hub has applied the outside revocations up to `count`.
pub fn applied_outside_revocations(c: &Connection, count: i64) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO hub_meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
        params![OUTSIDE_REVOCATIONS_SEEN, count],
    )?;
    Ok(())
}
