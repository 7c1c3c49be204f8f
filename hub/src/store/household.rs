//! Queries on a cradle's members, invites and activity log.

use rusqlite::{Connection, OptionalExtension, params};

use crate::household::Role;
use crate::timefmt::Millis;

/// Every member row (owners are not here), for the in-memory state at start.
pub fn all_members(c: &Connection) -> rusqlite::Result<Vec<(String, i64, Role)>> {
    let mut stmt = c.prepare("SELECT agent_uuid, user_id, role FROM cradle_members")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (uuid, user, role) = row?;
        if let Some(role) = Role::parse_member(&role) {
            out.push((uuid, user, role));
        }
    }
    Ok(out)
}

#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    /// When they joined; for the owner, when the cradle was claimed.
    pub added_at: Millis,
}

/// The owner first, then members by when they joined.
pub fn members_of(c: &Connection, uuid: &str) -> rusqlite::Result<Vec<Member>> {
    let mut stmt = c.prepare(
        "SELECT u.id, u.username, 'owner', a.updated_at, 0 FROM agents a JOIN users u ON u.id = a.owner_id
          WHERE a.uuid = ?1
         UNION ALL
         SELECT u.id, u.username, m.role, m.added_at, 1 FROM cradle_members m JOIN users u ON u.id = m.user_id
          WHERE m.agent_uuid = ?1
         ORDER BY 5, 4, 1",
    )?;
    let rows = stmt.query_map([uuid], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Millis>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (user_id, username, role, added_at) = row?;
        if let Some(role) = Role::parse(&role) {
            out.push(Member {
                user_id,
                username,
                role,
                added_at,
            });
        }
    }
    Ok(out)
}

pub fn add_member(
    c: &Connection,
    uuid: &str,
    user_id: i64,
    role: Role,
    added_by: i64,
    now: Millis,
) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO cradle_members (agent_uuid, user_id, role, added_at, added_by)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![uuid, user_id, role.as_str(), now, added_by],
    )?;
    Ok(())
}

/// Changes a member's role; false when they are not a member.
pub fn set_role(c: &Connection, uuid: &str, user_id: i64, role: Role) -> rusqlite::Result<bool> {
    Ok(c.execute(
        "UPDATE cradle_members SET role = ?3 WHERE agent_uuid = ?1 AND user_id = ?2",
        params![uuid, user_id, role.as_str()],
    )? == 1)
}

/// Removes a member and their notification switches; false when they were
/// not a member.
pub fn remove_member(c: &Connection, uuid: &str, user_id: i64) -> rusqlite::Result<bool> {
    c.execute(
        "DELETE FROM member_notify WHERE agent_uuid = ?1 AND user_id = ?2",
        params![uuid, user_id],
    )?;
    c.execute(
        "UPDATE sessions SET selected_cradle = NULL WHERE user_id = ?2 AND selected_cradle = ?1",
        params![uuid, user_id],
    )?;
    // Their inbox keeps nothing of a cradle they left (nor news of it).
    c.execute(
        "DELETE FROM notifications WHERE agent_uuid = ?1 AND user_id = ?2",
        params![uuid, user_id],
    )?;
    Ok(c.execute(
        "DELETE FROM cradle_members WHERE agent_uuid = ?1 AND user_id = ?2",
        params![uuid, user_id],
    )? == 1)
}

/// Makes member `to` the owner; the previous owner `from` stays as a
/// parent. One job: the cradle never has two owners or none. The previous
/// owner's open invites and app live-view switch end with their ownership.
pub fn transfer_ownership(
    c: &Connection,
    uuid: &str,
    from: i64,
    to: i64,
    now: Millis,
) -> rusqlite::Result<bool> {
    let moved = c.execute(
        "UPDATE agents SET owner_id = ?3 WHERE uuid = ?1 AND owner_id = ?2
            AND EXISTS (SELECT 1 FROM cradle_members WHERE agent_uuid = ?1 AND user_id = ?3)",
        params![uuid, from, to],
    )?;
    if moved != 1 {
        return Ok(false);
    }
    c.execute(
        "DELETE FROM cradle_members WHERE agent_uuid = ?1 AND user_id = ?2",
        params![uuid, to],
    )?;
    add_member(c, uuid, from, Role::Parent, to, now)?;
    c.execute(
        &format!(
            "UPDATE invites SET revoked_at = ?2 WHERE agent_uuid = ?1 AND {}",
            USABLE.replace('?', "?2")
        ),
        params![uuid, now],
    )?;
    set_lan_app_view(c, uuid, false)?;
    Ok(true)
}

/// Everything of the household when the owner removes the cradle.
pub fn forget_cradle(c: &Connection, uuid: &str) -> rusqlite::Result<()> {
    set_lan_app_view(c, uuid, false)?;
    for table in ["cradle_members", "invites", "member_notify", "activity_log"] {
        c.execute(
            &format!("DELETE FROM {table} WHERE agent_uuid = ?1"),
            [uuid],
        )?;
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Invite {
    pub id: i64,
    pub agent_uuid: String,
    pub code: String,
    pub role: Role,
    pub created_by: i64,
    pub created_at: Millis,
    pub expires_at: Millis,
}

const INVITE_COLUMNS: &str = "id, agent_uuid, code, role, created_by, created_at, expires_at";

fn invite_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Invite> {
    let role: String = r.get(3)?;
    Ok(Invite {
        id: r.get(0)?,
        agent_uuid: r.get(1)?,
        code: r.get(2)?,
        // The table's CHECK allows only member roles.
        role: Role::parse_member(&role).unwrap_or(Role::Viewer),
        created_by: r.get(4)?,
        created_at: r.get(5)?,
        expires_at: r.get(6)?,
    })
}

const USABLE: &str =
    "accepted_by IS NULL AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?";

pub fn code_in_use(c: &Connection, code: &str, now: Millis) -> rusqlite::Result<bool> {
    c.query_row(
        &format!(
            "SELECT EXISTS (SELECT 1 FROM invites WHERE code = ?1 AND {})",
            USABLE.replace('?', "?2")
        ),
        params![code, now],
        |r| r.get(0),
    )
}

pub fn create_invite(
    c: &Connection,
    uuid: &str,
    code: &str,
    role: Role,
    created_by: i64,
    now: Millis,
    expires_at: Millis,
) -> rusqlite::Result<Invite> {
    c.execute(
        "INSERT INTO invites (agent_uuid, code, role, created_by, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![uuid, code, role.as_str(), created_by, now, expires_at],
    )?;
    Ok(Invite {
        id: c.last_insert_rowid(),
        agent_uuid: uuid.to_owned(),
        code: code.to_owned(),
        role,
        created_by,
        created_at: now,
        expires_at,
    })
}

/// The cradle's invites that can still be used, newest first.
pub fn open_invites(c: &Connection, uuid: &str, now: Millis) -> rusqlite::Result<Vec<Invite>> {
    let mut stmt = c.prepare(&format!(
        "SELECT {INVITE_COLUMNS} FROM invites WHERE agent_uuid = ?1 AND {} ORDER BY id DESC",
        USABLE.replace('?', "?2")
    ))?;
    stmt.query_map(params![uuid, now], invite_from_row)?
        .collect()
}

/// Revokes an open invite of the cradle; false when there is none by that id.
pub fn revoke_invite(c: &Connection, uuid: &str, id: i64, now: Millis) -> rusqlite::Result<bool> {
    Ok(c.execute(
        &format!(
            "UPDATE invites SET revoked_at = ?3 WHERE id = ?1 AND agent_uuid = ?2 AND {}",
            USABLE.replace('?', "?3")
        ),
        params![id, uuid, now],
    )? == 1)
}

/// What accepting a code did.
#[derive(Debug)]
pub enum Accepted {
    Joined(Invite),
    /// No usable invite has this code (wrong, expired, used or revoked).
    NoSuchCode,
    /// The person already owns or is a member of that cradle.
    AlreadyMember(String),
}

/// Uses the invite with `code` for `user_id`: marks it used and adds the
/// member, in one job, so a code works exactly once.
pub fn accept_invite(
    c: &Connection,
    code: &str,
    user_id: i64,
    now: Millis,
) -> rusqlite::Result<Accepted> {
    let invite = c
        .query_row(
            &format!(
                "SELECT {INVITE_COLUMNS} FROM invites WHERE code = ?1 AND {} ORDER BY id DESC LIMIT 1",
                USABLE.replace('?', "?2")
            ),
            params![code, now],
            invite_from_row,
        )
        .optional()?;
    let Some(invite) = invite else {
        return Ok(Accepted::NoSuchCode);
    };
    let already: bool = c.query_row(
        "SELECT EXISTS (SELECT 1 FROM agents WHERE uuid = ?1 AND owner_id = ?2)
             OR EXISTS (SELECT 1 FROM cradle_members WHERE agent_uuid = ?1 AND user_id = ?2)",
        params![invite.agent_uuid, user_id],
        |r| r.get(0),
    )?;
    if already {
        return Ok(Accepted::AlreadyMember(invite.agent_uuid));
    }
    c.execute(
        "UPDATE invites SET accepted_by = ?2, accepted_at = ?3 WHERE id = ?1",
        params![invite.id, user_id, now],
    )?;
    add_member(
        c,
        &invite.agent_uuid,
        user_id,
        invite.role,
        invite.created_by,
        now,
    )?;
    Ok(Accepted::Joined(invite))
}

#[derive(Debug, Clone)]
pub struct Activity {
    pub id: i64,
    pub at: Millis,
    pub user_id: Option<i64>,
    pub username: Option<String>,
    pub action: String,
    pub detail: String,
}

pub fn log_activity(
    c: &Connection,
    uuid: &str,
    at: Millis,
    actor: Option<(i64, &str)>,
    action: &str,
    detail: &serde_json::Value,
) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO activity_log (agent_uuid, at, user_id, username, action, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            uuid,
            at,
            actor.map(|(id, _)| id),
            actor.map(|(_, name)| name),
            action,
            detail.to_string()
        ],
    )?;
    Ok(())
}

/// A page of the cradle's activity, newest first, older than `before`.
pub fn activity_page(
    c: &Connection,
    uuid: &str,
    before: Option<i64>,
    limit: usize,
) -> rusqlite::Result<Vec<Activity>> {
    let mut stmt = c.prepare(
        "SELECT id, at, user_id, username, action, detail FROM activity_log
          WHERE agent_uuid = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
    )?;
    stmt.query_map(
        params![uuid, before.unwrap_or(i64::MAX), limit as i64],
        |r| {
            Ok(Activity {
                id: r.get(0)?,
                at: r.get(1)?,
                user_id: r.get(2)?,
                username: r.get(3)?,
                action: r.get(4)?,
                detail: r.get(5)?,
            })
        },
    )?
    .collect()
}

pub fn lan_app_view(c: &Connection, uuid: &str) -> rusqlite::Result<bool> {
    Ok(c.query_row(
        "SELECT lan_app_view FROM agents WHERE uuid = ?1",
        [uuid],
        |r| r.get::<_, bool>(0),
    )
    .optional()?
    .unwrap_or(false))
}

pub fn set_lan_app_view(c: &Connection, uuid: &str, on: bool) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE agents SET lan_app_view = ?2 WHERE uuid = ?1",
        params![uuid, on],
    )?;
    Ok(())
}

/// The cradles with the app live-view switch on, for the in-memory state.
pub fn lan_app_view_on(c: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = c.prepare("SELECT uuid FROM agents WHERE lan_app_view = 1")?;
    stmt.query_map([], |r| r.get(0))?.collect()
}
