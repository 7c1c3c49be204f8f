//! Queries on `motor_log`: every motor command and who sent it.

use rusqlite::{Connection, params};

use crate::motor::{Action, Actor};
use crate::timefmt::Millis;

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub agent_uuid: String,
    pub at: Millis,
    pub action: Action,
    pub actor: Actor,
    pub user_id: Option<i64>,
    pub username: Option<String>,
    /// The cradle's connection (or the broker) took it.
    pub sent: bool,
    pub error: Option<String>,
}

pub fn insert(c: &Connection, e: &Entry) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO motor_log (agent_uuid, at, action, actor, user_id, username, sent, error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        e.agent_uuid,
        e.at,
        e.action.as_str(),
        e.actor.as_str(),
        e.user_id,
        e.username,
        e.sent,
        e.error
    ])?;
    Ok(())
}

/// One cradle's commands, newest first.
pub fn for_cradle(c: &Connection, uuid: &str, limit: usize) -> rusqlite::Result<Vec<Entry>> {
    c.prepare_cached(
        "SELECT agent_uuid, at, action, actor, user_id, username, sent, error FROM motor_log
         WHERE agent_uuid = ?1 ORDER BY at DESC, id DESC LIMIT ?2",
    )?
    .query_map(params![uuid, limit as i64], |r| {
        let action: String = r.get(2)?;
        let actor: String = r.get(3)?;
        Ok(Entry {
            agent_uuid: r.get(0)?,
            at: r.get(1)?,
            action: Action::parse(&action).unwrap_or(Action::Stop),
            actor: Actor::parse(&actor).unwrap_or(Actor::User),
            user_id: r.get(4)?,
            username: r.get(5)?,
            sent: r.get(6)?,
            error: r.get(7)?,
        })
    })?
    .collect()
}

/// Cradles whose last command taken was a start: (cradle, when, by whom).
pub fn still_rocking(c: &Connection) -> rusqlite::Result<Vec<(String, Millis, Actor)>> {
    c.prepare(
        "SELECT m.agent_uuid, m.at, m.actor FROM motor_log m
         WHERE m.sent = 1 AND m.action = 'start'
           AND m.id = (SELECT id FROM motor_log WHERE agent_uuid = m.agent_uuid AND sent = 1
                       ORDER BY at DESC, id DESC LIMIT 1)",
    )?
    .query_map([], |r| {
        let actor: String = r.get(2)?;
        Ok((
            r.get(0)?,
            r.get(1)?,
            Actor::parse(&actor).unwrap_or(Actor::User),
        ))
    })?
    .collect()
}
