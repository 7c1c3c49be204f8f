-- Bounded maintenance, cradle registration guards and a disk probe.

-- Retention deletes the oldest rows first, in small chunks: it needs an
-- index on the time alone (the existing ones start with the cradle).
CREATE INDEX sensor_data_ts ON sensor_data(ts);
CREATE INDEX video_frames_ts ON video_frames(ts);

-- A removed cradle's rows older than `upto` are deleted in chunks in the
-- background; the cradle can be claimed again only once that is done.
CREATE TABLE pending_wipes (
    agent_uuid TEXT PRIMARY KEY,
    upto       INTEGER NOT NULL
);

-- The previous address of a claimed cradle whose address changed, shown to
-- its owner.
ALTER TABLE agents ADD COLUMN previous_ip TEXT;
ALTER TABLE agents ADD COLUMN ip_changed_at INTEGER;
-- The unclaimed cradles, oldest registration first, for the cap on them.
CREATE INDEX agents_unclaimed ON agents(updated_at) WHERE owner_id IS NULL;

-- Small key/value facts about the hub (e.g. the disk probe written while
-- the disk is full).
CREATE TABLE hub_meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
