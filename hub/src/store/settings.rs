//! Queries on `alert_settings` and `push_subscriptions`.

use rusqlite::{Connection, params};

use crate::alerts::engine::AlertSettings;
use crate::timefmt::Millis;

pub fn all(c: &Connection) -> rusqlite::Result<Vec<(String, AlertSettings)>> {
    c.prepare(
        "SELECT agent_uuid, max_temperature, abnormal_position_timeout, crying_duration_threshold,
                push_notifications_enabled, email_notifications_enabled FROM alert_settings",
    )?
    .query_map([], |r| {
        Ok((
            r.get(0)?,
            AlertSettings {
                max_temperature: r.get(1)?,
                abnormal_position_timeout: r.get(2)?,
                crying_duration_threshold: r.get(3)?,
                push_notifications_enabled: r.get(4)?,
                email_notifications_enabled: r.get(5)?,
            },
        ))
    })?
    .collect()
}

pub fn upsert(c: &Connection, uuid: &str, s: &AlertSettings) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO alert_settings (agent_uuid, max_temperature, abnormal_position_timeout, crying_duration_threshold,
                                     push_notifications_enabled, email_notifications_enabled)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (agent_uuid) DO UPDATE SET
           max_temperature = excluded.max_temperature,
           abnormal_position_timeout = excluded.abnormal_position_timeout,
           crying_duration_threshold = excluded.crying_duration_threshold,
           push_notifications_enabled = excluded.push_notifications_enabled,
           email_notifications_enabled = excluded.email_notifications_enabled",
        params![
            uuid,
            s.max_temperature,
            s.abnormal_position_timeout,
            s.crying_duration_threshold,
            s.push_notifications_enabled,
            s.email_notifications_enabled
        ],
    )?;
    Ok(())
}

pub fn save_push_subscription(
    c: &Connection,
    user_id: i64,
    endpoint: &str,
    p256dh: &str,
    auth: &str,
    now: Millis,
) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (user_id, endpoint) DO UPDATE SET p256dh = excluded.p256dh, auth = excluded.auth",
        params![user_id, endpoint, p256dh, auth, now],
    )?;
    Ok(())
}
