//! Queries on `users`.

use rusqlite::{Connection, OptionalExtension, params};

use crate::timefmt::Millis;

#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
}

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        username: r.get(1)?,
        password_hash: r.get(2)?,
    })
}

pub fn insert(
    c: &Connection,
    username: &str,
    password_hash: &str,
    now: Millis,
) -> rusqlite::Result<i64> {
    c.execute(
        "INSERT INTO users (username, password_hash, created_at) VALUES (?1, ?2, ?3)",
        params![username, password_hash, now],
    )?;
    Ok(c.last_insert_rowid())
}

pub fn by_name(c: &Connection, username: &str) -> rusqlite::Result<Option<User>> {
    c.prepare_cached("SELECT id, username, password_hash FROM users WHERE username = ?1")?
        .query_row([username], from_row)
        .optional()
}

pub fn by_id(c: &Connection, id: i64) -> rusqlite::Result<Option<User>> {
    c.prepare_cached("SELECT id, username, password_hash FROM users WHERE id = ?1")?
        .query_row([id], from_row)
        .optional()
}

pub fn exists(c: &Connection, username: &str) -> rusqlite::Result<bool> {
    c.prepare_cached("SELECT 1 FROM users WHERE username = ?1")?
        .exists([username])
}

pub fn set_password(c: &Connection, id: i64, password_hash: &str) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE users SET password_hash = ?2 WHERE id = ?1",
        params![id, password_hash],
    )?;
    Ok(())
}

pub fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation)
}
