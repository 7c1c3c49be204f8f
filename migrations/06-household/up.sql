-- The household: members of a cradle besides its owner, invites, an activity
-- log, a notification inbox per member, Web Push and email delivery.

-- A cradle's owner stays `agents.owner_id` (the single-owner API reads it);
-- everyone else who may see the cradle is a member with a role. The owner
-- never has a row here.
CREATE TABLE cradle_members (
    agent_uuid TEXT NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('parent', 'viewer')),
    added_at   INTEGER NOT NULL,
    added_by   INTEGER,
    PRIMARY KEY (agent_uuid, user_id)
) WITHOUT ROWID;
CREATE INDEX cradle_members_user ON cradle_members(user_id);

-- A 6-digit code that lets one person join a cradle with a role, once,
-- until it expires or is revoked. Codes are short-lived and rate-limited
-- against guessing, so they are kept as typed.
CREATE TABLE invites (
    id          INTEGER PRIMARY KEY,
    agent_uuid  TEXT NOT NULL,
    code        TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('parent', 'viewer')),
    created_by  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    accepted_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    accepted_at INTEGER,
    revoked_at  INTEGER
);
CREATE INDEX invites_code ON invites(code);
CREATE INDEX invites_agent ON invites(agent_uuid);

-- Who did what to a cradle, newest first by id.
CREATE TABLE activity_log (
    id         INTEGER PRIMARY KEY,
    agent_uuid TEXT NOT NULL,
    at         INTEGER NOT NULL,
    user_id    INTEGER,
    username   TEXT,
    action     TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX activity_log_agent ON activity_log(agent_uuid, id);
CREATE INDEX activity_log_at ON activity_log(at);

-- Each alert, once per member who could see its cradle when it was raised,
-- with that member's own read state. `seq` is the delta-sync cursor: it is
-- unique and grows with every change a client must see again (created,
-- read or unread, the alert resolved).
CREATE TABLE notifications (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    alert_id   INTEGER NOT NULL REFERENCES alert_logs(id) ON DELETE CASCADE,
    agent_uuid TEXT NOT NULL,
    alert_type TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    read_at    INTEGER,
    seq        INTEGER NOT NULL DEFAULT 0,
    UNIQUE (user_id, alert_id)
);
CREATE INDEX notifications_user_seq ON notifications(user_id, seq);
CREATE INDEX notifications_user_created ON notifications(user_id, created_at);
CREATE INDEX notifications_alert ON notifications(alert_id);
-- The unread count costs what is unread, not the whole inbox.
CREATE INDEX notifications_unread ON notifications(user_id) WHERE read_at IS NULL;

INSERT INTO hub_meta (key, value) VALUES ('notification_seq', 0);
CREATE TRIGGER notifications_seq_insert AFTER INSERT ON notifications BEGIN
    UPDATE hub_meta SET value = value + 1 WHERE key = 'notification_seq';
    UPDATE notifications SET seq = (SELECT value FROM hub_meta WHERE key = 'notification_seq')
        WHERE id = NEW.id;
END;
CREATE TRIGGER notifications_seq_read AFTER UPDATE OF read_at ON notifications
    WHEN OLD.read_at IS NOT NEW.read_at BEGIN
    UPDATE hub_meta SET value = value + 1 WHERE key = 'notification_seq';
    UPDATE notifications SET seq = (SELECT value FROM hub_meta WHERE key = 'notification_seq')
        WHERE id = NEW.id;
END;
CREATE TRIGGER notifications_seq_resolved AFTER UPDATE OF resolved ON alert_logs
    WHEN OLD.resolved IS NOT NEW.resolved BEGIN
    UPDATE hub_meta SET value = value + 1 WHERE key = 'notification_seq';
    UPDATE notifications SET seq = (SELECT value FROM hub_meta WHERE key = 'notification_seq')
        WHERE alert_id = NEW.id;
END;

-- Notifications deleted (retention, a removed cradle, a member leaving), so
-- delta sync can tell offline caches to drop them: each deletion takes the
-- next `seq`. Tombstones age out with the retention period; a sync cursor
-- older than the newest one aged out must start over.
CREATE TABLE notification_deletions (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL,
    notification_id INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    deleted_at      INTEGER NOT NULL
);
CREATE INDEX notification_deletions_user_seq ON notification_deletions(user_id, seq);
CREATE INDEX notification_deletions_at ON notification_deletions(deleted_at);
INSERT INTO hub_meta (key, value) VALUES ('notification_deletions_aged_seq', 0);
CREATE TRIGGER notifications_deleted AFTER DELETE ON notifications BEGIN
    UPDATE hub_meta SET value = value + 1 WHERE key = 'notification_seq';
    INSERT INTO notification_deletions (user_id, notification_id, seq, deleted_at)
        VALUES (OLD.user_id, OLD.id,
                (SELECT value FROM hub_meta WHERE key = 'notification_seq'),
                CAST(strftime('%s', 'now') AS INTEGER) * 1000);
END;
CREATE TRIGGER notification_deletions_aged AFTER DELETE ON notification_deletions BEGIN
    UPDATE hub_meta SET value = max(value, OLD.seq) WHERE key = 'notification_deletions_aged_seq';
END;

-- A member's own choice per cradle: push to their devices, email to their
-- address (the cradle's `alert_settings` switches still apply first).
CREATE TABLE member_notify (
    agent_uuid TEXT NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    push       INTEGER NOT NULL DEFAULT 1,
    email      INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (agent_uuid, user_id)
) WITHOUT ROWID;

ALTER TABLE users ADD COLUMN email TEXT;

-- The language a device's pushes are written in, and when the push service
-- last accepted one (a 404/410 deletes the row).
ALTER TABLE push_subscriptions ADD COLUMN lang TEXT NOT NULL DEFAULT 'en';
ALTER TABLE push_subscriptions ADD COLUMN user_agent TEXT;
ALTER TABLE push_subscriptions ADD COLUMN last_sent_at INTEGER;
-- The session that subscribed the device: once it ends (sign-out, "sign out
-- other devices", a password change, expiry), that device gets no more
-- alerts. NULL for subscriptions saved before.
ALTER TABLE push_subscriptions ADD COLUMN session_id TEXT;

-- "Allow the Smart Cradle app's live view on this network": a cookie-less
-- `/stream` or `/api/alert_frame` from the address of a member's signed-in
-- device is served. Off by default.
ALTER TABLE agents ADD COLUMN lan_app_view INTEGER NOT NULL DEFAULT 0;
