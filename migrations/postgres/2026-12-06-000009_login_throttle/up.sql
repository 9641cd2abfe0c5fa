-- Sign-in throttling held in the database, so that every server process counts the same
-- attempts (see src/auth/throttle.rs). One row per key ("acct:<email>" or
-- "addr:<ip>"): the key's theoretical arrival time in milliseconds since the epoch
-- (the generic cell rate algorithm). A row whose time has passed is the same as no row,
-- and is swept away. Not a tenant table: a sign-in names no campaign until it succeeds.
CREATE TABLE login_throttle (
    key TEXT PRIMARY KEY,
    tat_ms BIGINT NOT NULL
);
CREATE INDEX login_throttle_tat ON login_throttle (tat_ms);
