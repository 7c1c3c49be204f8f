//! Queries on `notifications` (each alert, once per member who could see
//! its cradle, with that member's read state and a delta-sync `seq`) and on
//! `member_notify` (a member's push and email switches per cradle).
//!
//! `seq` is kept by the triggers of migration 06: a row gets the next value
//! of `hub_meta.notification_seq` when it is created, when its read state
//! changes and when its alert is resolved. Jobs commit one after another, so
//! a reader never sees a `seq` without every lower one that was committed.

use rusqlite::{Connection, OptionalExtension, params};

use super::alerts::AlertRow;
use crate::timefmt::Millis;

/// One member's notification of an alert, with the alert it points to (its
/// facts render the message, its resolution is part of the notification).
#[derive(Debug, Clone)]
pub struct Notification {
    pub id: i64,
    pub read_at: Option<Millis>,
    pub seq: i64,
    pub alert: AlertRow,
}

/// What a list of notifications is narrowed to. Times are inclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub unread_only: bool,
    pub alert_type: Option<String>,
    pub uuid: Option<String>,
    pub from: Option<Millis>,
    pub to: Option<Millis>,
}

impl Filter {
    pub const ALL: Filter = Filter {
        unread_only: false,
        alert_type: None,
        uuid: None,
        from: None,
        to: None,
    };
}

/// Notification columns, then the alert's (see [`from_row`]).
const COLUMNS: &str = "n.id, n.read_at, n.seq, a.id, a.agent_uuid, a.alert_type, a.temperature, \
     a.face_detected, a.notification_sent, a.resolved, a.created_at, a.resolved_at, a.detail";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Notification> {
    Ok(Notification {
        id: r.get(0)?,
        read_at: r.get(1)?,
        seq: r.get(2)?,
        alert: AlertRow {
            id: r.get(3)?,
            agent_uuid: r.get(4)?,
            alert_type: r.get(5)?,
            temperature: r.get(6)?,
            face_detected: r.get(7)?,
            notification_sent: r.get(8)?,
            resolved: r.get(9)?,
            created_at: r.get(10)?,
            resolved_at: r.get(11)?,
            detail: r.get(12)?,
        },
    })
}

/// Gives the stored alert `a` to everyone who can see its cradle now (its
/// owner and its members), unread. Runs in the job that stores the alert;
/// a retried job adds nothing twice. Returns the users notified now.
pub fn fan_out(c: &Connection, a: &AlertRow) -> rusqlite::Result<Vec<i64>> {
    c.prepare_cached(
        "INSERT OR IGNORE INTO notifications (user_id, alert_id, agent_uuid, alert_type, created_at)
         SELECT owner_id, ?1, ?2, ?3, ?4 FROM agents WHERE uuid = ?2 AND owner_id IS NOT NULL
         UNION SELECT user_id, ?1, ?2, ?3, ?4 FROM cradle_members WHERE agent_uuid = ?2
         RETURNING user_id",
    )?
    .query_map(
        params![a.id, a.agent_uuid, a.alert_type, a.created_at],
        |r| r.get(0),
    )?
    .collect()
}

/// `user_id`'s notifications matching `filter`, newest first (by the
/// alert's time, then id), at most `limit`; with `before`, only those
/// after that notification of theirs in this order (none if it is not
/// theirs or gone).
pub fn list(
    c: &Connection,
    user_id: i64,
    filter: &Filter,
    before: Option<i64>,
    limit: usize,
) -> rusqlite::Result<Vec<Notification>> {
    // The time bounds are always given so the range and the order both
    // come from the (user_id, created_at) index.
    c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM notifications n JOIN alert_logs a ON a.id = n.alert_id
         WHERE n.user_id = ?1 AND n.created_at BETWEEN ?2 AND ?3
           AND (?4 = 0 OR n.read_at IS NULL)
           AND (?5 IS NULL OR n.alert_type = ?5)
           AND (?6 IS NULL OR n.agent_uuid = ?6)
           AND (?7 IS NULL OR (n.created_at, n.id) <
                (SELECT created_at, id FROM notifications WHERE id = ?7 AND user_id = ?1))
         ORDER BY n.created_at DESC, n.id DESC LIMIT ?8"
    ))?
    .query_map(
        params![
            user_id,
            filter.from.unwrap_or(Millis::MIN),
            filter.to.unwrap_or(Millis::MAX),
            filter.unread_only,
            filter.alert_type,
            filter.uuid,
            before,
            limit as i64
        ],
        from_row,
    )?
    .collect()
}

pub fn unread_count(c: &Connection, user_id: i64) -> rusqlite::Result<i64> {
    c.prepare_cached("SELECT COUNT(*) FROM notifications WHERE user_id = ?1 AND read_at IS NULL")?
        .query_row([user_id], |r| r.get(0))
}

/// `user_id`'s notifications changed after `since` (created, read or
/// unread, resolved), in the order of their changes, at most `limit`.
pub fn changed_since(
    c: &Connection,
    user_id: i64,
    since: i64,
    limit: usize,
) -> rusqlite::Result<Vec<Notification>> {
    c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM notifications n JOIN alert_logs a ON a.id = n.alert_id
         WHERE n.user_id = ?1 AND n.seq > ?2 ORDER BY n.seq LIMIT ?3"
    ))?
    .query_map(params![user_id, since, limit as i64], from_row)?
    .collect()
}

/// `user_id`'s notifications deleted after `since`: `(seq, notification id)`
/// in `seq` order.
pub fn deleted_since(
    c: &Connection,
    user_id: i64,
    since: i64,
    limit: usize,
) -> rusqlite::Result<Vec<(i64, i64)>> {
    c.prepare_cached(
        "SELECT seq, notification_id FROM notification_deletions
         WHERE user_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    )?
    .query_map(params![user_id, since, limit as i64], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?
    .collect()
}

/// The newest `seq` of a deletion record that aged out: a cursor before it
/// may have missed deletions.
pub fn aged_deletions_seq(c: &Connection) -> rusqlite::Result<i64> {
    Ok(c.prepare_cached(
        "SELECT value FROM hub_meta WHERE key = 'notification_deletions_aged_seq'",
    )?
    .query_row([], |r| r.get::<_, i64>(0))
    .optional()?
    .unwrap_or(0))
}

/// The highest `seq` handed out on this hub (a cursor beyond it was not
/// given by this database).
pub fn last_seq(c: &Connection) -> rusqlite::Result<i64> {
    Ok(
        c.prepare_cached("SELECT value FROM hub_meta WHERE key = 'notification_seq'")?
            .query_row([], |r| r.get::<_, i64>(0))
            .optional()?
            .unwrap_or(0),
    )
}

/// What marking one notification read or unread did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marked {
    Changed,
    /// It already was in that state.
    Unchanged,
    /// No such notification of this user.
    NotFound,
}

/// Marks notification `id` of `user_id` read at `at` (the first read time
/// is kept), or unread with `at` = `None`.
pub fn mark(c: &Connection, user_id: i64, id: i64, at: Option<Millis>) -> rusqlite::Result<Marked> {
    let changed = match at {
        Some(at) => c
            .prepare_cached(
                "UPDATE notifications SET read_at = ?3 WHERE id = ?1 AND user_id = ?2 AND read_at IS NULL",
            )?
            .execute(params![id, user_id, at])?,
        None => c
            .prepare_cached(
                "UPDATE notifications SET read_at = NULL WHERE id = ?1 AND user_id = ?2 AND read_at IS NOT NULL",
            )?
            .execute(params![id, user_id])?,
    };
    if changed > 0 {
        return Ok(Marked::Changed);
    }
    let exists = c
        .prepare_cached("SELECT 1 FROM notifications WHERE id = ?1 AND user_id = ?2")?
        .exists(params![id, user_id])?;
    Ok(if exists {
        Marked::Unchanged
    } else {
        Marked::NotFound
    })
}

/// Marks read, at `at`, at most `limit` of `user_id`'s unread
/// notifications of alerts raised up to `at`, optionally only of one cradle
/// or type; returns how many (a step of a chunked bulk update).
pub fn mark_all_read(
    c: &Connection,
    user_id: i64,
    uuid: Option<&str>,
    alert_type: Option<&str>,
    at: Millis,
    limit: usize,
) -> rusqlite::Result<usize> {
    c.prepare_cached(
        "UPDATE notifications SET read_at = ?2 WHERE id IN
         (SELECT id FROM notifications WHERE user_id = ?1 AND created_at <= ?2 AND read_at IS NULL
            AND (?3 IS NULL OR agent_uuid = ?3) AND (?4 IS NULL OR alert_type = ?4) LIMIT ?5)",
    )?
    .execute(params![user_id, at, uuid, alert_type, limit as i64])
}

/// A member's delivery switches for one cradle (both on unless changed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotifyPrefs {
    pub push: bool,
    pub email: bool,
}

impl Default for NotifyPrefs {
    fn default() -> NotifyPrefs {
        NotifyPrefs {
            push: true,
            email: true,
        }
    }
}

pub fn notify_prefs(c: &Connection, uuid: &str, user_id: i64) -> rusqlite::Result<NotifyPrefs> {
    Ok(c.prepare_cached(
        "SELECT push, email FROM member_notify WHERE agent_uuid = ?1 AND user_id = ?2",
    )?
    .query_row(params![uuid, user_id], |r| {
        Ok(NotifyPrefs {
            push: r.get(0)?,
            email: r.get(1)?,
        })
    })
    .optional()?
    .unwrap_or_default())
}

/// Changes the switches given (`None` keeps the current value); returns
/// both as stored.
pub fn set_notify_prefs(
    c: &Connection,
    uuid: &str,
    user_id: i64,
    push: Option<bool>,
    email: Option<bool>,
) -> rusqlite::Result<NotifyPrefs> {
    c.prepare_cached(
        "INSERT INTO member_notify (agent_uuid, user_id, push, email)
         VALUES (?1, ?2, COALESCE(?3, 1), COALESCE(?4, 1))
         ON CONFLICT (agent_uuid, user_id) DO UPDATE
           SET push = COALESCE(?3, push), email = COALESCE(?4, email)",
    )?
    .execute(params![uuid, user_id, push, email])?;
    notify_prefs(c, uuid, user_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{aging, alerts as alert_rows};

    fn db() -> Connection {
        let c = crate::store::migrated_in_memory();
        for (id, name) in [(1, "ann"), (2, "bob"), (3, "cat")] {
            c.execute(
                "INSERT INTO users (id, username, password_hash, created_at) VALUES (?1, ?2, 'x', 0)",
                params![id, name],
            )
            .unwrap();
        }
        // c1: ann owns it, bob is a viewer. c2: cat's alone.
        c.execute_batch(
            "INSERT INTO agents (uuid, owner_id, created_at, updated_at) VALUES ('c1', 1, 0, 0), ('c2', 3, 0, 0);
             INSERT INTO cradle_members (agent_uuid, user_id, role, added_at) VALUES ('c1', 2, 'viewer', 0);",
        )
        .unwrap();
        c
    }

    fn alert(id: i64, uuid: &str, t: &str, at: Millis) -> AlertRow {
        AlertRow {
            id,
            agent_uuid: uuid.into(),
            alert_type: t.into(),
            temperature: None,
            face_detected: None,
            notification_sent: false,
            resolved: false,
            created_at: at,
            resolved_at: None,
            detail: "{}".into(),
        }
    }

    fn store(c: &Connection, a: &AlertRow) -> Vec<i64> {
        alert_rows::insert_unless_present(c, a).unwrap();
        let mut users = fan_out(c, a).unwrap();
        users.sort();
        users
    }

    fn ids(v: &[Notification]) -> Vec<i64> {
        v.iter().map(|n| n.alert.id).collect()
    }

    #[test]
    fn an_alert_goes_to_the_owner_and_each_member_once() {
        let c = db();
        let a = alert(10, "c1", "crying", 1_000);
        assert_eq!(store(&c, &a), vec![1, 2]);
        assert_eq!(
            store(&c, &a),
            Vec::<i64>::new(),
            "a retried write adds nothing"
        );
        assert_eq!(store(&c, &alert(11, "c2", "crying", 1_000)), vec![3]);
        assert_eq!(
            store(&c, &alert(12, "nobody's", "crying", 1_000)),
            Vec::<i64>::new()
        );
        for (user, unread) in [(1, 1), (2, 1), (3, 1)] {
            assert_eq!(unread_count(&c, user).unwrap(), unread, "user {user}");
        }
    }

    #[test]
    fn read_state_is_per_member_and_every_change_gets_a_new_seq() {
        let c = db();
        store(&c, &alert(10, "c1", "crying", 1_000));
        let ann = changed_since(&c, 1, 0, 10).unwrap();
        let bob = changed_since(&c, 2, 0, 10).unwrap();
        let (ann_n, bob_n) = (ann[0].id, bob[0].id);
        assert_ne!(ann_n, bob_n);
        let created = ann[0].seq;

        assert_eq!(mark(&c, 1, ann_n, Some(2_000)).unwrap(), Marked::Changed);
        assert_eq!(mark(&c, 1, ann_n, Some(3_000)).unwrap(), Marked::Unchanged);
        assert_eq!(
            mark(&c, 1, bob_n, Some(2_000)).unwrap(),
            Marked::NotFound,
            "bob's"
        );
        assert_eq!(mark(&c, 1, 999, Some(2_000)).unwrap(), Marked::NotFound);
        assert_eq!(
            (unread_count(&c, 1).unwrap(), unread_count(&c, 2).unwrap()),
            (0, 1)
        );
        let read = changed_since(&c, 1, created, 10).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].read_at, Some(2_000), "the first read time is kept");
        assert!(read[0].seq > created);
        assert!(
            changed_since(&c, 2, bob[0].seq, 10).unwrap().is_empty(),
            "bob's is unchanged"
        );

        // Resolving the alert changes both members' notifications.
        alert_rows::resolve(&c, 10, 4_000).unwrap();
        let ann_resolved = changed_since(&c, 1, read[0].seq, 10).unwrap();
        let bob_resolved = changed_since(&c, 2, bob[0].seq, 10).unwrap();
        assert!(ann_resolved[0].alert.resolved && bob_resolved[0].alert.resolved);
        assert!(ann_resolved[0].seq > read[0].seq);

        assert_eq!(mark(&c, 1, ann_n, None).unwrap(), Marked::Changed);
        assert_eq!(mark(&c, 1, ann_n, None).unwrap(), Marked::Unchanged);
        let unread = changed_since(&c, 1, ann_resolved[0].seq, 10).unwrap();
        assert_eq!(unread[0].read_at, None);
        assert!(last_seq(&c).unwrap() >= unread[0].seq);
    }

    #[test]
    fn lists_filter_and_page_newest_first() {
        let c = db();
        // Stored out of order: an alert kept in memory is written late.
        store(&c, &alert(1, "c1", "crying", 1_000));
        store(&c, &alert(3, "c1", "high_temperature", 3_000));
        store(&c, &alert(2, "c1", "crying", 2_000));
        store(&c, &alert(4, "c1", "crying", 4_000));
        let all = |f: &Filter, before, limit| ids(&list(&c, 1, f, before, limit).unwrap());
        assert_eq!(all(&Filter::ALL, None, 10), vec![4, 3, 2, 1]);
        let page = list(&c, 1, &Filter::ALL, None, 2).unwrap();
        assert_eq!(ids(&page), vec![4, 3]);
        assert_eq!(all(&Filter::ALL, Some(page[1].id), 2), vec![2, 1]);
        let bobs = list(&c, 2, &Filter::ALL, None, 1).unwrap();
        assert_eq!(
            all(&Filter::ALL, Some(bobs[0].id), 10),
            Vec::<i64>::new(),
            "not ann's"
        );

        let crying = Filter {
            alert_type: Some("crying".into()),
            ..Filter::ALL
        };
        assert_eq!(all(&crying, None, 10), vec![4, 2, 1]);
        let window = Filter {
            from: Some(2_000),
            to: Some(3_000),
            ..Filter::ALL
        };
        assert_eq!(all(&window, None, 10), vec![3, 2], "both ends included");
        let other_cradle = Filter {
            uuid: Some("c2".into()),
            ..Filter::ALL
        };
        assert_eq!(all(&other_cradle, None, 10), Vec::<i64>::new());

        assert_eq!(
            mark_all_read(&c, 1, None, Some("crying"), 3_500, 100).unwrap(),
            2,
            "up to now only"
        );
        let unread = Filter {
            unread_only: true,
            ..Filter::ALL
        };
        assert_eq!(all(&unread, None, 10), vec![4, 3]);
        assert_eq!(
            mark_all_read(&c, 1, Some("c2"), None, 9_000, 100).unwrap(),
            0
        );
        // In steps, as a chunked bulk update runs it.
        assert_eq!(mark_all_read(&c, 1, Some("c1"), None, 9_000, 1).unwrap(), 1);
        assert_eq!(mark_all_read(&c, 1, Some("c1"), None, 9_000, 1).unwrap(), 1);
        assert_eq!(mark_all_read(&c, 1, Some("c1"), None, 9_000, 1).unwrap(), 0);
        assert_eq!(unread_count(&c, 1).unwrap(), 0);
        assert_eq!(unread_count(&c, 2).unwrap(), 4, "bob's are his own");
    }

    #[test]
    fn sync_pages_by_seq_without_repeating_an_item_in_a_page() {
        let c = db();
        for id in 1..=5 {
            store(&c, &alert(id, "c1", "crying", id * 1_000));
        }
        let first = changed_since(&c, 1, 0, 3).unwrap();
        assert_eq!(ids(&first), vec![1, 2, 3]);
        // Alert 1 changes after it was synced: it comes again, after the others.
        alert_rows::resolve(&c, 1, 9_000).unwrap();
        let rest = changed_since(&c, 1, first[2].seq, 10).unwrap();
        assert_eq!(ids(&rest), vec![4, 5, 1]);
        // Replaying from the start lists each once, in seq order.
        let replay = changed_since(&c, 1, 0, 10).unwrap();
        assert_eq!(ids(&replay), vec![2, 3, 4, 5, 1]);
        assert!(replay.windows(2).all(|w| w[0].seq < w[1].seq));
    }

    #[test]
    fn notifications_go_with_their_alert_and_their_user() {
        let c = db();
        store(&c, &alert(1, "c1", "crying", 1_000));
        store(&c, &alert(2, "c1", "crying", 5_000));
        // Retention's chunked delete, as it runs on alert_logs.
        assert_eq!(
            aging::ALERT_LOGS.delete_older_than(&c, 2_000, 256).unwrap(),
            1
        );
        assert_eq!(ids(&list(&c, 1, &Filter::ALL, None, 10).unwrap()), vec![2]);
        assert_eq!(ids(&list(&c, 2, &Filter::ALL, None, 10).unwrap()), vec![2]);
        c.execute("DELETE FROM users WHERE id = 2", []).unwrap();
        let left: i64 = c
            .query_row("SELECT COUNT(*) FROM notifications", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 1, "ann's only");
    }

    #[test]
    fn deletions_are_remembered_for_sync_in_seq_order_until_they_age_out() {
        let c = db();
        store(&c, &alert(1, "c1", "crying", 1_000));
        store(&c, &alert(2, "c1", "crying", 5_000));
        let before = last_seq(&c).unwrap();
        let gone = ids(&list(&c, 1, &Filter::ALL, None, 10).unwrap())[1];
        // Retention's cascade from the alert, as it runs.
        aging::ALERT_LOGS.delete_older_than(&c, 2_000, 256).unwrap();
        let deleted = deleted_since(&c, 1, before, 10).unwrap();
        assert_eq!(deleted.len(), 1);
        assert_eq!(deleted[0].1, gone);
        assert!(deleted[0].0 > before, "a deletion takes the next seq");
        assert_eq!(deleted_since(&c, 1, deleted[0].0, 10).unwrap(), []);
        assert_eq!(aged_deletions_seq(&c).unwrap(), 0);
        // Tombstones age out with retention; the hub remembers how far.
        let far_future = i64::MAX / 2;
        aging::NOTIFICATION_DELETIONS
            .delete_older_than(&c, far_future, 256)
            .unwrap();
        assert!(aged_deletions_seq(&c).unwrap() >= deleted[0].0);
    }

    /// The queries the inbox runs on every request, the cascade from
    /// retention's deletes and the resolve trigger go through an index: no
    /// scan of the table, however large it grows.
    #[test]
    fn hot_queries_use_indexes() {
        let c = db();
        let plan = |sql: &str| -> String {
            let mut q = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let n = q.parameter_count();
            let params: Vec<rusqlite::types::Value> =
                (0..n).map(|_| rusqlite::types::Value::Integer(1)).collect();
            q.query_map(rusqlite::params_from_iter(params), |r| {
                r.get::<_, String>(3)
            })
            .unwrap()
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap()
            .join("; ")
        };
        let list_sql = format!(
            "SELECT {COLUMNS} FROM notifications n JOIN alert_logs a ON a.id = n.alert_id
             WHERE n.user_id = ?1 AND n.created_at BETWEEN ?2 AND ?3 AND (?4 = 0 OR n.read_at IS NULL)
             ORDER BY n.created_at DESC, n.id DESC LIMIT ?5"
        );
        let p = plan(&list_sql);
        assert!(p.contains("USING INDEX notifications_user_created (user_id=? AND created_at>? AND created_at<?)"), "{p}");
        assert!(!p.contains("TEMP B-TREE"), "sorted by the index: {p}");
        let p = plan(&format!(
            "SELECT {COLUMNS} FROM notifications n JOIN alert_logs a ON a.id = n.alert_id
             WHERE n.user_id = ?1 AND n.seq > ?2 ORDER BY n.seq LIMIT ?3"
        ));
        assert!(
            p.contains("USING INDEX notifications_user_seq (user_id=? AND seq>?)"),
            "{p}"
        );
        assert!(!p.contains("TEMP B-TREE"), "{p}");
        // What the foreign key's cascade and the resolve trigger look up.
        let p = plan("SELECT id FROM notifications WHERE alert_id = ?1");
        assert!(
            p.contains("USING COVERING INDEX notifications_alert")
                || p.contains("USING INDEX notifications_alert"),
            "{p}"
        );
    }

    #[test]
    fn notify_prefs_default_on_and_change_one_at_a_time() {
        let c = db();
        assert_eq!(notify_prefs(&c, "c1", 2).unwrap(), NotifyPrefs::default());
        let p = set_notify_prefs(&c, "c1", 2, Some(false), None).unwrap();
        assert_eq!(
            p,
            NotifyPrefs {
                push: false,
                email: true
            }
        );
        let p = set_notify_prefs(&c, "c1", 2, None, Some(false)).unwrap();
        assert_eq!(
            p,
            NotifyPrefs {
                push: false,
                email: false
            }
        );
        assert_eq!(
            notify_prefs(&c, "c1", 1).unwrap(),
            NotifyPrefs::default(),
            "per member"
        );
        assert_eq!(
            notify_prefs(&c, "c2", 2).unwrap(),
            NotifyPrefs::default(),
            "per cradle"
        );
    }
}
