-- Safety: liveness alerts, motor limits and log, ids that never repeat.

-- Alert and frame ids are handed out by the hub before their rows are
-- written. Their high-water marks survive deletes, so an id seen by a client
-- is never given to another alert (clients deduplicate on ids). ("WHERE
-- true" lets SQLite parse ON CONFLICT after a SELECT.)
CREATE TRIGGER alert_logs_high_id AFTER INSERT ON alert_logs BEGIN
    INSERT INTO hub_meta (key, value) VALUES ('alert_logs_high_id', NEW.id)
    ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value);
END;
CREATE TRIGGER video_frames_high_id AFTER INSERT ON video_frames BEGIN
    INSERT INTO hub_meta (key, value) VALUES ('video_frames_high_id', NEW.id)
    ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value);
END;
INSERT INTO hub_meta (key, value)
    SELECT 'alert_logs_high_id', COALESCE(MAX(id), 0) FROM alert_logs WHERE true
    ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value);
INSERT INTO hub_meta (key, value)
    SELECT 'video_frames_high_id', COALESCE(MAX(id), 0) FROM video_frames WHERE true
    ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value);

-- Per-cradle liveness rules and motor limits (seconds and minutes).
ALTER TABLE alert_settings ADD COLUMN offline_alert_enabled INTEGER NOT NULL DEFAULT 1;
ALTER TABLE alert_settings ADD COLUMN offline_after INTEGER NOT NULL DEFAULT 60;
ALTER TABLE alert_settings ADD COLUMN camera_silent_alert_enabled INTEGER NOT NULL DEFAULT 1;
ALTER TABLE alert_settings ADD COLUMN camera_silent_after INTEGER NOT NULL DEFAULT 60;
ALTER TABLE alert_settings ADD COLUMN sensor_fault_alert_enabled INTEGER NOT NULL DEFAULT 1;
ALTER TABLE alert_settings ADD COLUMN max_rock_minutes INTEGER NOT NULL DEFAULT 15;
ALTER TABLE alert_settings ADD COLUMN soothing_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alert_settings ADD COLUMN soothe_after INTEGER NOT NULL DEFAULT 20;
ALTER TABLE alert_settings ADD COLUMN soothe_minutes INTEGER NOT NULL DEFAULT 5;

-- When the hub last heard from each cradle (written every half minute), so
-- a cradle that does not come back after a hub restart is noticed.
ALTER TABLE agents ADD COLUMN last_seen INTEGER;

-- Every motor command: who sent it (a parent, the soothing loop, or the
-- hub's automatic stop), and whether the cradle's connection took it.
CREATE TABLE motor_log (
    id         INTEGER PRIMARY KEY,
    agent_uuid TEXT NOT NULL,
    at         INTEGER NOT NULL,
    action     TEXT NOT NULL,
    actor      TEXT NOT NULL,
    user_id    INTEGER,
    username   TEXT,
    sent       INTEGER NOT NULL,
    error      TEXT
);
CREATE INDEX motor_log_agent_at ON motor_log(agent_uuid, at);
CREATE INDEX motor_log_at ON motor_log(at);
