-- Walk lists and the push outbox.
--
-- A walk list is an ordered set of doors of one turf (walk_list_stops.position) with the
-- people of the universe at each door (walk_list_people). A door is on at most one live
-- list: the partial unique index on walk_list_stops refuses a second one. walk_list_cells
-- holds the resolution-9 H3 cells of a list's doors, so "open lists near me" is a lookup
-- of the cells around the volunteer, never a scan.
--
-- push_messages is the outbox: one row per device and event, written in the transaction
-- that made the change and sent later by the server's push worker.

CREATE TABLE walk_lists (
    id BIGSERIAL,
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    turf_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('active', 'done', 'expired')),
    universe TEXT NOT NULL,
    door_count BIGINT NOT NULL,
    people_count BIGINT NOT NULL,
    distance_m DOUBLE PRECISION NOT NULL,
    walking_seconds DOUBLE PRECISION NOT NULL,
    start_lat DOUBLE PRECISION NOT NULL,
    start_lng DOUBLE PRECISION NOT NULL,
    assignee_count BIGINT NOT NULL DEFAULT 0,
    claimed_by BIGINT,
    claimed_until TIMESTAMP,
    knocked_doors BIGINT NOT NULL DEFAULT 0,
    version BIGINT NOT NULL DEFAULT 1,
    expires_at TIMESTAMP NOT NULL,
    created_by BIGINT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (campaign_id, id),
    FOREIGN KEY (campaign_id, turf_id) REFERENCES turfs (campaign_id, id),
    FOREIGN KEY (campaign_id, claimed_by) REFERENCES users (campaign_id, id),
    FOREIGN KEY (campaign_id, created_by) REFERENCES users (campaign_id, id)
);
CREATE INDEX walk_lists_turf ON walk_lists (campaign_id, turf_id);
CREATE INDEX walk_lists_due ON walk_lists (state, expires_at);

CREATE TABLE walk_list_stops (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    walk_list_id BIGINT NOT NULL,
    door_id BIGINT NOT NULL,
    position BIGINT NOT NULL,
    live BOOLEAN NOT NULL DEFAULT TRUE,
    PRIMARY KEY (campaign_id, walk_list_id, door_id),
    FOREIGN KEY (campaign_id, walk_list_id) REFERENCES walk_lists (campaign_id, id) ON DELETE CASCADE,
    FOREIGN KEY (campaign_id, door_id) REFERENCES doors (campaign_id, id)
);
CREATE UNIQUE INDEX walk_list_stops_live_door ON walk_list_stops (campaign_id, door_id) WHERE live;
CREATE INDEX walk_list_stops_order ON walk_list_stops (campaign_id, walk_list_id, position);

CREATE TABLE walk_list_people (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    walk_list_id BIGINT NOT NULL,
    person_id BIGINT NOT NULL,
    door_id BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, walk_list_id, person_id),
    FOREIGN KEY (campaign_id, walk_list_id) REFERENCES walk_lists (campaign_id, id) ON DELETE CASCADE,
    FOREIGN KEY (campaign_id, person_id) REFERENCES people (campaign_id, id)
);
CREATE INDEX walk_list_people_door ON walk_list_people (campaign_id, walk_list_id, door_id);

CREATE TABLE walk_list_cells (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    cell BIGINT NOT NULL,
    walk_list_id BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, cell, walk_list_id),
    FOREIGN KEY (campaign_id, walk_list_id) REFERENCES walk_lists (campaign_id, id) ON DELETE CASCADE
);

CREATE TABLE walk_list_assignments (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    walk_list_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    assigned_by BIGINT,
    assigned_at TIMESTAMP NOT NULL,
    PRIMARY KEY (campaign_id, walk_list_id, user_id),
    FOREIGN KEY (campaign_id, walk_list_id) REFERENCES walk_lists (campaign_id, id) ON DELETE CASCADE,
    FOREIGN KEY (campaign_id, user_id) REFERENCES users (campaign_id, id),
    FOREIGN KEY (campaign_id, assigned_by) REFERENCES users (campaign_id, id)
);
CREATE INDEX walk_list_assignments_user ON walk_list_assignments (campaign_id, user_id);

CREATE TABLE push_messages (
    id BIGSERIAL,
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    user_id BIGINT NOT NULL,
    device_id BIGINT,
    walk_list_id BIGINT,
    event TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    data TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP,
    last_error TEXT,
    fcm_name TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP,
    PRIMARY KEY (campaign_id, id),
    FOREIGN KEY (campaign_id, user_id) REFERENCES users (campaign_id, id)
);
CREATE INDEX push_messages_due ON push_messages (state, next_attempt_at);
CREATE INDEX push_messages_list ON push_messages (campaign_id, walk_list_id);
