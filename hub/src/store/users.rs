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

pub fn email(c: &Connection, id: i64) -> rusqlite::Result<Option<String>> {
    Ok(c.prepare_cached("SELECT email FROM users WHERE id = ?1")?
        .query_row([id], |r| r.get::<_, Option<String>>(0))
        .optional()?
        .flatten())
}

/// `None` removes the address.
pub fn set_email(c: &Connection, id: i64, email: Option<&str>) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE users SET email = ?2 WHERE id = ?1",
        params![id, email],
    )?;
    Ok(())
}

/// Someone who gets an alert of a cradle by email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailRecipient {
    pub user_id: i64,
    pub email: String,
    /// The language of their newest push subscription, if they have one.
    pub lang: Option<String>,
}

/// Everyone who can see the cradle (its owner and its members), has an
/// address, and has not turned email off for it (no `member_notify` row
/// means on).
pub fn email_recipients(c: &Connection, uuid: &str) -> rusqlite::Result<Vec<EmailRecipient>> {
    c.prepare_cached(
        "SELECT u.id, u.email,
                (SELECT p.lang FROM push_subscriptions p WHERE p.user_id = u.id
                 ORDER BY p.created_at DESC, p.id DESC LIMIT 1)
         FROM users u
         WHERE u.id IN (SELECT owner_id FROM agents WHERE uuid = ?1 AND owner_id IS NOT NULL
                        UNION SELECT user_id FROM cradle_members WHERE agent_uuid = ?1)
           AND u.email IS NOT NULL AND u.email <> ''
           AND NOT EXISTS (SELECT 1 FROM member_notify m
                           WHERE m.agent_uuid = ?1 AND m.user_id = u.id AND m.email = 0)
         ORDER BY u.id",
    )?
    .query_map([uuid], |r| {
        Ok(EmailRecipient {
            user_id: r.get(0)?,
            email: r.get(1)?,
            lang: r.get(2)?,
        })
    })?
    .collect()
}

pub fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        crate::store::migrated_in_memory()
    }

    #[test]
    fn email_goes_to_the_owner_and_members_with_an_address_and_email_on() {
        let c = db();
        let user = |name: &str, email: Option<&str>| {
            let id = insert(&c, name, "hash", 0).unwrap();
            set_email(&c, id, email).unwrap();
            id
        };
        let owner = user("owner", Some("owner@example.com"));
        let parent = user("parent", Some("parent@example.com"));
        let no_address = user("no-address", None);
        let opted_out = user("opted-out", Some("out@example.com"));
        let stranger = user("stranger", Some("stranger@example.com"));
        c.execute_batch(&format!(
            "INSERT INTO agents (uuid, owner_id, created_at, updated_at) VALUES ('c1', {owner}, 0, 0);
             INSERT INTO agents (uuid, owner_id, created_at, updated_at) VALUES ('c2', {stranger}, 0, 0);
             INSERT INTO cradle_members (agent_uuid, user_id, role, added_at) VALUES
                 ('c1', {parent}, 'parent', 0), ('c1', {no_address}, 'viewer', 0), ('c1', {opted_out}, 'viewer', 0);
             INSERT INTO member_notify (agent_uuid, user_id, push, email) VALUES
                 ('c1', {opted_out}, 1, 0), ('c1', {parent}, 0, 1), ('c2', {parent}, 1, 0);
             INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth, created_at, lang) VALUES
                 ({parent}, 'https://push.example/old', 'k', 'a', 1, 'en'),
                 ({parent}, 'https://push.example/new', 'k', 'a', 2, 'ko');"
        ))
        .unwrap();
        assert_eq!(
            email_recipients(&c, "c1").unwrap(),
            vec![
                EmailRecipient {
                    user_id: owner,
                    email: "owner@example.com".into(),
                    lang: None
                },
                EmailRecipient {
                    user_id: parent,
                    email: "parent@example.com".into(),
                    lang: Some("ko".into())
                },
            ]
        );
        set_email(&c, owner, None).unwrap();
        assert_eq!(email(&c, owner).unwrap(), None);
        assert_eq!(email_recipients(&c, "c1").unwrap().len(), 1);
        assert!(email_recipients(&c, "unknown").unwrap().is_empty());
    }
}
