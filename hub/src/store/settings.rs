//! Queries on `alert_settings`.

use rusqlite::{Connection, params};

use crate::alerts::engine::AlertSettings;

pub fn all(c: &Connection) -> rusqlite::Result<Vec<(String, AlertSettings)>> {
    c.prepare(
        "SELECT agent_uuid, max_temperature, abnormal_position_timeout, crying_duration_threshold,
                push_notifications_enabled, email_notifications_enabled,
                offline_alert_enabled, offline_after, camera_silent_alert_enabled, camera_silent_after,
                sensor_fault_alert_enabled, max_rock_minutes, soothing_enabled, soothe_after, soothe_minutes
         FROM alert_settings",
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
                offline_alert_enabled: r.get(6)?,
                offline_after: r.get(7)?,
                camera_silent_alert_enabled: r.get(8)?,
                camera_silent_after: r.get(9)?,
                sensor_fault_alert_enabled: r.get(10)?,
                max_rock_minutes: r.get(11)?,
                soothing_enabled: r.get(12)?,
                soothe_after: r.get(13)?,
                soothe_minutes: r.get(14)?,
            },
        ))
    })?
    .collect()
}

pub fn upsert(c: &Connection, uuid: &str, s: &AlertSettings) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO alert_settings (agent_uuid, max_temperature, abnormal_position_timeout, crying_duration_threshold,
                                     push_notifications_enabled, email_notifications_enabled,
                                     offline_alert_enabled, offline_after, camera_silent_alert_enabled,
                                     camera_silent_after, sensor_fault_alert_enabled, max_rock_minutes,
                                     soothing_enabled, soothe_after, soothe_minutes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
         ON CONFLICT (agent_uuid) DO UPDATE SET
           max_temperature = excluded.max_temperature,
           abnormal_position_timeout = excluded.abnormal_position_timeout,
           crying_duration_threshold = excluded.crying_duration_threshold,
           push_notifications_enabled = excluded.push_notifications_enabled,
           email_notifications_enabled = excluded.email_notifications_enabled,
           offline_alert_enabled = excluded.offline_alert_enabled,
           offline_after = excluded.offline_after,
           camera_silent_alert_enabled = excluded.camera_silent_alert_enabled,
           camera_silent_after = excluded.camera_silent_after,
           sensor_fault_alert_enabled = excluded.sensor_fault_alert_enabled,
           max_rock_minutes = excluded.max_rock_minutes,
           soothing_enabled = excluded.soothing_enabled,
           soothe_after = excluded.soothe_after,
           soothe_minutes = excluded.soothe_minutes",
        params![
            uuid,
            s.max_temperature,
            s.abnormal_position_timeout,
            s.crying_duration_threshold,
            s.push_notifications_enabled,
            s.email_notifications_enabled,
            s.offline_alert_enabled,
            s.offline_after,
            s.camera_silent_alert_enabled,
            s.camera_silent_after,
            s.sensor_fault_alert_enabled,
            s.max_rock_minutes,
            s.soothing_enabled,
            s.soothe_after,
            s.soothe_minutes
        ],
    )?;
    Ok(())
}
