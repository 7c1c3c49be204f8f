-- Schema of the contract in ../shared/API.md. Times are stored as Unix
-- milliseconds (UTC) so range queries are integer comparisons; the API renders
-- them as RFC 3339.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

-- A session cookie holds a random token; only its SHA-256 is stored, so a copy
-- of the database does not let anyone log in.
CREATE TABLE sessions (
    token_hash      BLOB PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    selected_cradle TEXT,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE agents (
    id         INTEGER PRIMARY KEY,
    uuid       TEXT NOT NULL UNIQUE,
    ip         TEXT NOT NULL DEFAULT '',
    owner_id   INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX agents_owner ON agents(owner_id);

-- One row per reading as it arrived: exactly one of temperature, crying,
-- direction is set.
CREATE TABLE sensor_data (
    id          INTEGER PRIMARY KEY,
    agent_uuid  TEXT NOT NULL,
    ts          INTEGER NOT NULL,
    temperature REAL,
    crying      TEXT,
    probability REAL,
    direction   TEXT
);
CREATE INDEX sensor_data_agent_ts ON sensor_data(agent_uuid, ts);

CREATE TABLE alert_settings (
    agent_uuid                  TEXT PRIMARY KEY,
    max_temperature             REAL NOT NULL DEFAULT 38.0,
    abnormal_position_timeout   INTEGER NOT NULL DEFAULT 30,
    crying_duration_threshold   INTEGER NOT NULL DEFAULT 30,
    push_notifications_enabled  INTEGER NOT NULL DEFAULT 1,
    email_notifications_enabled INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE alert_logs (
    id                INTEGER PRIMARY KEY,
    agent_uuid        TEXT NOT NULL,
    alert_type        TEXT NOT NULL,
    temperature       REAL,
    face_detected     INTEGER,
    notification_sent INTEGER NOT NULL DEFAULT 0,
    resolved          INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    resolved_at       INTEGER,
    -- Facts the message is rendered from in the reader's language.
    detail            TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX alert_logs_agent_created ON alert_logs(agent_uuid, created_at);
CREATE INDEX alert_logs_created ON alert_logs(created_at);

-- JPEG bytes exactly as the cradle sent them (never re-encoded).
CREATE TABLE video_frames (
    id         INTEGER PRIMARY KEY,
    agent_uuid TEXT NOT NULL,
    ts         INTEGER NOT NULL,
    bytes      INTEGER NOT NULL,
    jpeg       BLOB NOT NULL
);
CREATE INDEX video_frames_agent_ts ON video_frames(agent_uuid, ts);

-- Which recorded frames belong to which alert: overlapping alerts share frames.
CREATE TABLE alert_frames (
    alert_id INTEGER NOT NULL REFERENCES alert_logs(id) ON DELETE CASCADE,
    frame_id INTEGER NOT NULL REFERENCES video_frames(id) ON DELETE CASCADE,
    PRIMARY KEY (alert_id, frame_id)
) WITHOUT ROWID;
CREATE INDEX alert_frames_frame ON alert_frames(frame_id);

CREATE TABLE push_subscriptions (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    endpoint   TEXT NOT NULL,
    p256dh     TEXT NOT NULL,
    auth       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (user_id, endpoint)
);
