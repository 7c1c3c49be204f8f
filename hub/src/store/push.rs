//! Queries on `push_subscriptions`: one row per browser (endpoint) per
//! account, with the device's language.

use rusqlite::{Connection, OptionalExtension, params};

use crate::timefmt::Millis;

/// A subscription as `POST /api/push_subscription` saves it (keys checked).
#[derive(Debug, Clone)]
pub struct NewSubscription {
    pub user_id: i64,
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
    /// `en` or `ko`.
    pub lang: &'static str,
    pub user_agent: Option<String>,
    /// The public id of the session that subscribed it.
    pub session_id: Option<String>,
}

/// Most devices one account keeps subscribed; subscribing one more drops
/// the one subscribed longest ago (every alert is one POST per device).
pub const MAX_PER_USER: usize = 20;

/// Saves (or refreshes) a subscription. An endpoint is one browser: if
/// another account had subscribed it, that account's row goes, so a shared
/// or handed-on device gets only the alerts of whoever signed in last.
pub fn save(c: &Connection, s: &NewSubscription, now: Millis) -> rusqlite::Result<()> {
    c.execute(
        "DELETE FROM push_subscriptions WHERE endpoint = ?1 AND user_id <> ?2",
        params![s.endpoint, s.user_id],
    )?;
    c.execute(
        "INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth, created_at, lang, user_agent, session_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (user_id, endpoint) DO UPDATE SET
           p256dh = excluded.p256dh, auth = excluded.auth,
           lang = excluded.lang, user_agent = excluded.user_agent,
           session_id = excluded.session_id",
        params![
            s.user_id,
            s.endpoint,
            s.p256dh,
            s.auth,
            now,
            s.lang,
            s.user_agent,
            s.session_id
        ],
    )?;
    c.execute(
        "DELETE FROM push_subscriptions WHERE user_id = ?1 AND id NOT IN
           (SELECT id FROM push_subscriptions WHERE user_id = ?1 ORDER BY id DESC LIMIT ?2)",
        params![s.user_id, MAX_PER_USER as i64],
    )?;
    Ok(())
}

/// Removes `user_id`'s subscription of `endpoint`; whether there was one.
pub fn remove_for_user(c: &Connection, user_id: i64, endpoint: &str) -> rusqlite::Result<bool> {
    Ok(c.execute(
        "DELETE FROM push_subscriptions WHERE user_id = ?1 AND endpoint = ?2",
        params![user_id, endpoint],
    )? > 0)
}

pub fn remove(c: &Connection, id: i64) -> rusqlite::Result<()> {
    c.execute("DELETE FROM push_subscriptions WHERE id = ?1", [id])?;
    Ok(())
}

/// A subscription an alert is pushed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushTarget {
    pub id: i64,
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
    pub lang: String,
}

/// Every subscription of the users who can see cradle `uuid` (its owner and
/// members), except those of members who turned push off for it and those
/// whose session has ended (a lost phone signed out from another device).
pub fn targets(c: &Connection, uuid: &str) -> rusqlite::Result<Vec<PushTarget>> {
    c.prepare_cached(
        "SELECT s.id, s.endpoint, s.p256dh, s.auth, s.lang FROM push_subscriptions s
          WHERE s.user_id IN (SELECT owner_id FROM agents WHERE uuid = ?1 AND owner_id IS NOT NULL
                              UNION SELECT user_id FROM cradle_members WHERE agent_uuid = ?1)
            AND NOT EXISTS (SELECT 1 FROM member_notify m
                             WHERE m.agent_uuid = ?1 AND m.user_id = s.user_id AND m.push = 0)
            AND (s.session_id IS NULL OR EXISTS (
                 SELECT 1 FROM sessions x WHERE x.public_id = s.session_id
                    AND x.expires_at > CAST(strftime('%s', 'now') AS INTEGER) * 1000))
          ORDER BY s.id",
    )?
    .query_map([uuid], |r| {
        Ok(PushTarget {
            id: r.get(0)?,
            endpoint: r.get(1)?,
            p256dh: r.get(2)?,
            auth: r.get(3)?,
            lang: r.get(4)?,
        })
    })?
    .collect()
}

/// A push service accepted `alert_id` for subscription `id`.
pub fn mark_sent(c: &Connection, alert_id: i64, id: i64, now: Millis) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE alert_logs SET notification_sent = 1 WHERE id = ?1 AND notification_sent = 0",
        [alert_id],
    )?;
    c.execute(
        "UPDATE push_subscriptions SET last_sent_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

/// The hub's VAPID private key as kept, if one was.
pub fn vapid_key(c: &Connection) -> rusqlite::Result<Option<Vec<u8>>> {
    c.query_row("SELECT private_key FROM vapid_key WHERE id = 1", [], |r| {
        r.get(0)
    })
    .optional()
}

/// Keeps `private_key` as the hub's VAPID key, replacing any other.
pub fn set_vapid_key(c: &Connection, private_key: &[u8], now: Millis) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO vapid_key (id, private_key, created_at) VALUES (1, ?1, ?2)
         ON CONFLICT (id) DO UPDATE SET private_key = excluded.private_key,
           created_at = excluded.created_at",
        params![private_key, now],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::users;

    fn db() -> Connection {
        crate::store::migrated_in_memory()
    }

    fn subscribe(c: &Connection, user_id: i64, endpoint: &str, lang: &'static str) {
        let s = NewSubscription {
            user_id,
            endpoint: endpoint.into(),
            p256dh: "key".into(),
            auth: "secret".into(),
            lang,
            user_agent: Some("Firefox".into()),
            session_id: None,
        };
        save(c, &s, 1).unwrap();
    }

    fn endpoints(c: &Connection, uuid: &str) -> Vec<String> {
        targets(c, uuid)
            .unwrap()
            .into_iter()
            .map(|t| t.endpoint)
            .collect()
    }

    #[test]
    fn pushes_go_to_the_owner_and_members_with_push_on() {
        let c = db();
        let user = |name: &str| users::insert(&c, name, "hash", 0).unwrap();
        let (owner, parent, viewer, opted_out, stranger) = (
            user("owner"),
            user("parent"),
            user("viewer"),
            user("opted-out"),
            user("stranger"),
        );
        c.execute_batch(&format!(
            "INSERT INTO agents (uuid, owner_id, created_at, updated_at) VALUES ('c1', {owner}, 0, 0);
             INSERT INTO agents (uuid, owner_id, created_at, updated_at) VALUES ('c2', {stranger}, 0, 0);
             INSERT INTO cradle_members (agent_uuid, user_id, role, added_at) VALUES
                 ('c1', {parent}, 'parent', 0), ('c1', {viewer}, 'viewer', 0), ('c1', {opted_out}, 'viewer', 0);
             INSERT INTO member_notify (agent_uuid, user_id, push, email) VALUES
                 ('c1', {opted_out}, 0, 1), ('c1', {viewer}, 1, 0), ('c2', {parent}, 0, 1);"
        ))
        .unwrap();
        subscribe(&c, owner, "https://push.example.org/owner-phone", "ko");
        subscribe(&c, owner, "https://push.example.org/owner-laptop", "en");
        subscribe(&c, parent, "https://push.example.org/parent", "en");
        subscribe(&c, viewer, "https://push.example.org/viewer", "en");
        subscribe(&c, opted_out, "https://push.example.org/opted-out", "en");
        subscribe(&c, stranger, "https://push.example.org/stranger", "en");
        assert_eq!(
            endpoints(&c, "c1"),
            [
                "https://push.example.org/owner-phone",
                "https://push.example.org/owner-laptop",
                "https://push.example.org/parent",
                "https://push.example.org/viewer",
            ]
        );
        assert_eq!(targets(&c, "c1").unwrap()[0].lang, "ko");
        assert_eq!(endpoints(&c, "c2"), ["https://push.example.org/stranger"]);
        assert!(endpoints(&c, "unknown").is_empty());
    }

    #[test]
    fn a_device_whose_session_ended_gets_no_more_pushes() {
        let c = db();
        let ann = users::insert(&c, "ann", "hash", 0).unwrap();
        c.execute_batch(&format!(
            "INSERT INTO agents (uuid, owner_id, created_at, updated_at) VALUES ('c1', {ann}, 0, 0);
             INSERT INTO sessions (token_hash, user_id, created_at, expires_at, public_id)
                 VALUES (x'01', {ann}, 0, 9999999999999, 'phone-session'),
                        (x'02', {ann}, 0, 1, 'expired-session');"
        ))
        .unwrap();
        for (endpoint, session) in [
            ("https://push.example.org/phone", Some("phone-session")),
            ("https://push.example.org/expired", Some("expired-session")),
            (
                "https://push.example.org/signed-out",
                Some("deleted-session"),
            ),
            ("https://push.example.org/older", None),
        ] {
            let s = NewSubscription {
                user_id: ann,
                endpoint: endpoint.into(),
                p256dh: "key".into(),
                auth: "secret".into(),
                lang: "en",
                user_agent: None,
                session_id: session.map(str::to_owned),
            };
            save(&c, &s, 1).unwrap();
        }
        assert_eq!(
            endpoints(&c, "c1"),
            [
                "https://push.example.org/phone",
                "https://push.example.org/older"
            ]
        );
    }

    #[test]
    fn an_endpoint_belongs_to_the_account_that_subscribed_it_last() {
        let c = db();
        let ann = users::insert(&c, "ann", "hash", 0).unwrap();
        let bob = users::insert(&c, "bob", "hash", 0).unwrap();
        c.execute_batch(&format!(
            "INSERT INTO agents (uuid, owner_id, created_at, updated_at) VALUES ('c1', {ann}, 0, 0);"
        ))
        .unwrap();
        subscribe(&c, ann, "https://push.example.org/tablet", "en");
        subscribe(&c, ann, "https://push.example.org/tablet", "ko");
        assert_eq!(
            targets(&c, "c1").unwrap().len(),
            1,
            "refreshed, not doubled"
        );
        assert_eq!(targets(&c, "c1").unwrap()[0].lang, "ko");
        subscribe(&c, bob, "https://push.example.org/tablet", "en");
        assert!(
            endpoints(&c, "c1").is_empty(),
            "ann's alerts no longer go to bob's tablet"
        );
        assert!(!remove_for_user(&c, ann, "https://push.example.org/tablet").unwrap());
        assert!(remove_for_user(&c, bob, "https://push.example.org/tablet").unwrap());
    }

    #[test]
    fn an_account_keeps_its_newest_devices() {
        let c = db();
        let ann = users::insert(&c, "ann", "hash", 0).unwrap();
        c.execute_batch(&format!(
            "INSERT INTO agents (uuid, owner_id, created_at, updated_at) VALUES ('c1', {ann}, 0, 0);"
        ))
        .unwrap();
        for i in 0..=MAX_PER_USER {
            subscribe(&c, ann, &format!("https://push.example.org/{i}"), "en");
        }
        let kept = endpoints(&c, "c1");
        assert_eq!(kept.len(), MAX_PER_USER);
        assert!(!kept.contains(&"https://push.example.org/0".to_owned()));
        assert!(kept.contains(&format!("https://push.example.org/{MAX_PER_USER}")));
    }

    #[test]
    fn a_delivery_marks_the_alert_and_the_subscription() {
        let c = db();
        let ann = users::insert(&c, "ann", "hash", 0).unwrap();
        c.execute_batch(&format!(
            "INSERT INTO agents (uuid, owner_id, created_at, updated_at) VALUES ('c1', {ann}, 0, 0);
             INSERT INTO alert_logs (id, agent_uuid, alert_type, notification_sent, resolved, created_at, detail)
                 VALUES (7, 'c1', 'crying', 0, 0, 0, '{{}}');"
        ))
        .unwrap();
        subscribe(&c, ann, "https://push.example.org/phone", "en");
        let id = targets(&c, "c1").unwrap()[0].id;
        mark_sent(&c, 7, id, 99).unwrap();
        let sent: (bool, Option<i64>) = c
            .query_row(
                "SELECT a.notification_sent, s.last_sent_at FROM alert_logs a, push_subscriptions s
                  WHERE a.id = 7 AND s.id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(sent, (true, Some(99)));
        remove(&c, id).unwrap();
        assert!(targets(&c, "c1").unwrap().is_empty());
    }

    #[test]
    fn one_vapid_key_is_kept_and_replaced_whole() {
        let c = db();
        assert_eq!(vapid_key(&c).unwrap(), None);
        set_vapid_key(&c, &[1; 32], 5).unwrap();
        set_vapid_key(&c, &[2; 32], 6).unwrap();
        assert_eq!(vapid_key(&c).unwrap(), Some(vec![2; 32]));
        let rows: i64 = c
            .query_row("SELECT count(*) FROM vapid_key", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 1);
    }
}
