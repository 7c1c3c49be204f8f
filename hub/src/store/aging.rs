//! Bulk deletes in bounded chunks, oldest first through an index on the
//! table's time column: one statement shape for retention and cradle wipes
//! on every table, so no delete ever scans a table on the writer.

use rusqlite::{Connection, params};

use crate::timefmt::Millis;

/// A table whose rows age out by a time column.
pub struct Aging {
    table: &'static str,
    time: &'static str,
}

pub const SENSOR_DATA: Aging = Aging {
    table: "sensor_data",
    time: "ts",
};
pub const VIDEO_FRAMES: Aging = Aging {
    table: "video_frames",
    time: "ts",
};
pub const MOTOR_LOG: Aging = Aging {
    table: "motor_log",
    time: "at",
};
/// An alert's frame links go with it (ON DELETE CASCADE).
pub const ALERT_LOGS: Aging = Aging {
    table: "alert_logs",
    time: "created_at",
};

/// Delta sync's record of deleted notifications.
pub const NOTIFICATION_DELETIONS: Aging = Aging {
    table: "notification_deletions",
    time: "deleted_at",
};

impl Aging {
    /// Deletes at most `limit` rows older than `cutoff`, oldest first.
    pub fn delete_older_than(
        &self,
        c: &Connection,
        cutoff: Millis,
        limit: usize,
    ) -> rusqlite::Result<usize> {
        let Aging { table, time } = self;
        c.prepare_cached(&format!(
            "DELETE FROM {table} WHERE id IN
             (SELECT id FROM {table} WHERE {time} < ?1 ORDER BY {time} LIMIT ?2)"
        ))?
        .execute(params![cutoff, limit as i64])
    }

    /// Deletes at most `limit` of one cradle's rows older than `upto`.
    pub fn delete_for_cradle(
        &self,
        c: &Connection,
        uuid: &str,
        upto: Millis,
        limit: usize,
    ) -> rusqlite::Result<usize> {
        let Aging { table, time } = self;
        c.prepare_cached(&format!(
            "DELETE FROM {table} WHERE id IN
             (SELECT id FROM {table} WHERE agent_uuid = ?1 AND {time} < ?2 ORDER BY {time} LIMIT ?3)"
        ))?
        .execute(params![uuid, upto, limit as i64])
    }
}
