//! Queries on `alert_logs`.

use rusqlite::{Connection, OptionalExtension, params};

use crate::timefmt::Millis;

#[derive(Debug, Clone)]
pub struct AlertRow {
    pub id: i64,
    pub agent_uuid: String,
    pub alert_type: String,
    pub temperature: Option<f64>,
    pub face_detected: Option<bool>,
    pub notification_sent: bool,
    pub resolved: bool,
    pub created_at: Millis,
    pub resolved_at: Option<Millis>,
    /// JSON facts the message is rendered from.
    pub detail: String,
}

const COLUMNS: &str = "id, agent_uuid, alert_type, temperature, face_detected, notification_sent, resolved, created_at, resolved_at, detail";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AlertRow> {
    Ok(AlertRow {
        id: r.get(0)?,
        agent_uuid: r.get(1)?,
        alert_type: r.get(2)?,
        temperature: r.get(3)?,
        face_detected: r.get(4)?,
        notification_sent: r.get(5)?,
        resolved: r.get(6)?,
        created_at: r.get(7)?,
        resolved_at: r.get(8)?,
        detail: r.get(9)?,
    })
}

pub fn insert(c: &Connection, a: &AlertRow) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO alert_logs (id, agent_uuid, alert_type, temperature, face_detected, notification_sent, resolved, created_at, resolved_at, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        a.id,
        a.agent_uuid,
        a.alert_type,
        a.temperature,
        a.face_detected,
        a.notification_sent,
        a.resolved,
        a.created_at,
        a.resolved_at,
        a.detail
    ])?;
    Ok(())
}

/// Like [`insert`], but a row already stored with that id is kept (a
/// write retried after a failure that had in fact committed).
pub fn insert_unless_present(c: &Connection, a: &AlertRow) -> rusqlite::Result<()> {
    if by_id(c, a.id)?.is_none() {
        insert(c, a)?;
    }
    Ok(())
}

/// Alerts of every cradle `user_id` owns since `since`, newest first.
pub fn for_user(
    c: &Connection,
    user_id: i64,
    since: Millis,
    limit: usize,
) -> rusqlite::Result<Vec<AlertRow>> {
    owned_since(c, user_id, since, limit, false)
}

/// The alerts since `since` of every cradle `user_id` owns or is a member
/// of, newest first, optionally only the unresolved ones.
fn owned_since(
    c: &Connection,
    user_id: i64,
    since: Millis,
    limit: usize,
    unresolved_only: bool,
) -> rusqlite::Result<Vec<AlertRow>> {
    c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM alert_logs WHERE created_at >= ?2 AND (?4 = 0 OR resolved = 0)
           AND agent_uuid IN (SELECT uuid FROM agents WHERE owner_id = ?1
                              UNION SELECT agent_uuid FROM cradle_members WHERE user_id = ?1)
         ORDER BY created_at DESC, id DESC LIMIT ?3"
    ))?
    .query_map(
        params![user_id, since, limit as i64, unresolved_only],
        from_row,
    )?
    .collect()
}

pub fn for_cradle(c: &Connection, uuid: &str, since: Millis) -> rusqlite::Result<Vec<AlertRow>> {
    c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM alert_logs WHERE agent_uuid = ?1 AND created_at >= ?2 ORDER BY created_at DESC, id DESC"
    ))?
    .query_map(params![uuid, since], from_row)?
    .collect()
}

pub fn by_id(c: &Connection, id: i64) -> rusqlite::Result<Option<AlertRow>> {
    c.prepare_cached(&format!("SELECT {COLUMNS} FROM alert_logs WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()
}

/// Marks it resolved (once: the first resolution time is kept).
pub fn resolve(c: &Connection, id: i64, now: Millis) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE alert_logs SET resolved = 1, resolved_at = COALESCE(resolved_at, ?2) WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

/// Resolves alert `id` and replaces its facts (a liveness alert records
/// when the cradle came back).
pub fn resolve_with_detail(
    c: &Connection,
    id: i64,
    now: Millis,
    detail: &str,
) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE alert_logs SET resolved = 1, resolved_at = COALESCE(resolved_at, ?2), detail = ?3
         WHERE id = ?1 AND resolved = 0",
        params![id, now, detail],
    )?;
    Ok(())
}

/// The unresolved alerts of every cradle `user_id` can see since `since`,
/// newest first: the complete set a screen shows (at most `limit`).
pub fn unresolved_for_user(
    c: &Connection,
    user_id: i64,
    since: Millis,
    limit: usize,
) -> rusqlite::Result<Vec<AlertRow>> {
    owned_since(c, user_id, since, limit, true)
}

/// The highest alert id ever stored, deleted ones included.
pub fn max_id(c: &Connection) -> rusqlite::Result<i64> {
    super::high_id(c, "alert_logs")
}

/// The unresolved alerts of these types: (cradle, type, id).
pub fn unresolved_of_types(
    c: &Connection,
    types: &[&str],
) -> rusqlite::Result<Vec<(String, String, i64)>> {
    let mut out = Vec::new();
    let mut q = c.prepare_cached(
        "SELECT agent_uuid, alert_type, id FROM alert_logs WHERE alert_type = ?1 AND resolved = 0",
    )?;
    for t in types {
        for row in q.query_map([t], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))? {
            out.push(row?);
        }
    }
    Ok(out)
}
