-- Sessions a parent can see and end: which device, from where, since when.
-- `public_id` names a session in the device list and in media tokens; the
-- cookie's token itself stays known only by its hash. `expires_at` is now
-- the nearer of the idle deadline (last use + idle days) and `ends_at`, the
-- absolute end counted from sign-in.
ALTER TABLE sessions ADD COLUMN public_id TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
ALTER TABLE sessions ADD COLUMN ip TEXT;
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER;
ALTER TABLE sessions ADD COLUMN ends_at INTEGER;
UPDATE sessions SET public_id = lower(hex(randomblob(12))),
    last_seen_at = created_at,
    ends_at = created_at + 180 * 86400000;
CREATE UNIQUE INDEX sessions_public_id ON sessions(public_id);
