-- Accounts: campaigns (the tenant), regions, users, sessions, invites, devices, audit.
-- Every tenant table carries campaign_id and its primary key is (campaign_id, id), so
-- the tables can be distributed by campaign (Citus) without changing a key. Foreign
-- keys are composite: the database refuses a row pointing into another campaign.
-- Timestamps are TIMESTAMP (UTC by convention) because the SQLite twin has no zone type.

CREATE TABLE campaigns (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id BIGSERIAL,
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('volunteer', 'organizer', 'director', 'admin')),
    region_id BIGINT,
    password_hash TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (campaign_id, id),
    UNIQUE (campaign_id, email)
);
CREATE INDEX users_email ON users (email);

CREATE TABLE regions (
    id BIGSERIAL,
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    name TEXT NOT NULL,
    director_id BIGINT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (campaign_id, id),
    UNIQUE (campaign_id, name),
    FOREIGN KEY (campaign_id, director_id) REFERENCES users (campaign_id, id)
);

ALTER TABLE users ADD FOREIGN KEY (campaign_id, region_id) REFERENCES regions (campaign_id, id);

CREATE TABLE refresh_tokens (
    id BIGSERIAL,
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    user_id BIGINT NOT NULL,
    family_id TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    rotated BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (campaign_id, id),
    UNIQUE (campaign_id, token_hash),
    FOREIGN KEY (campaign_id, user_id) REFERENCES users (campaign_id, id)
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (campaign_id, family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (campaign_id, user_id);

CREATE TABLE invites (
    id BIGSERIAL,
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    user_id BIGINT NOT NULL,
    code_hash TEXT NOT NULL,
    created_by BIGINT,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (campaign_id, id),
    UNIQUE (campaign_id, code_hash),
    FOREIGN KEY (campaign_id, user_id) REFERENCES users (campaign_id, id)
);

CREATE TABLE devices (
    id BIGSERIAL,
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    user_id BIGINT NOT NULL,
    token TEXT NOT NULL,
    platform TEXT NOT NULL CHECK (platform IN ('android', 'ios', 'web')),
    last_seen_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (campaign_id, id),
    UNIQUE (campaign_id, token),
    FOREIGN KEY (campaign_id, user_id) REFERENCES users (campaign_id, id)
);
CREATE INDEX devices_token ON devices (token);
CREATE INDEX devices_user ON devices (campaign_id, user_id);

CREATE TABLE audit_log (
    id BIGSERIAL,
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    actor_id BIGINT,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id BIGINT,
    details TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (campaign_id, id)
);
