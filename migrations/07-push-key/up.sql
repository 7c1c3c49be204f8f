-- The hub's VAPID key (RFC 8292). Browsers bind every push subscription to
-- its public half, so it lives beside the subscriptions: a backup carries
-- both, and phones keep getting alerts from a restored hub. (Hubs before
-- this kept it in the data folder's `vapid.key`; the hub moves it in.)
CREATE TABLE vapid_key (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    private_key BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);
