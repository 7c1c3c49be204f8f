//! Queries on `sessions`. Only the SHA-256 of a session token is stored.

use rusqlite::{Connection, OptionalExtension, params};

use crate::timefmt::Millis;

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub user_id: i64,
    pub username: String,
    pub selected_cradle: Option<String>,
    pub expires_at: Millis,
}

pub fn insert(
    c: &Connection,
    token_hash: &[u8],
    user_id: i64,
    now: Millis,
    expires_at: Millis,
) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![token_hash, user_id, now, expires_at],
    )?;
    Ok(())
}

pub fn lookup(
    c: &Connection,
    token_hash: &[u8],
    now: Millis,
) -> rusqlite::Result<Option<SessionRow>> {
    c.prepare_cached(
        "SELECT s.user_id, u.username, s.selected_cradle, s.expires_at
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = ?1 AND s.expires_at > ?2",
    )?
    .query_row(params![token_hash, now], |r| {
        Ok(SessionRow {
            user_id: r.get(0)?,
            username: r.get(1)?,
            selected_cradle: r.get(2)?,
            expires_at: r.get(3)?,
        })
    })
    .optional()
}

pub fn delete(c: &Connection, token_hash: &[u8]) -> rusqlite::Result<()> {
    c.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
    Ok(())
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
