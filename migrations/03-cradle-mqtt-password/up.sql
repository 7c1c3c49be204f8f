-- A cradle whose owner turned on "require a password" must log in to the
-- hub's MQTT endpoint as its uuid with this password. Only the argon2 hash is
-- kept; NULL means anonymous connections may act for the cradle (today's
-- firmware has no credentials).
ALTER TABLE agents ADD COLUMN mqtt_password_hash TEXT;
