-- Script experiments: scripts canvassers read, experiments that randomise doors
-- between scripts, and each door's recorded arm (intention to treat). The arm comes
-- from a hash of experiment and door (src/experiments), so recording it only keeps
-- the analysis honest; recomputing it always gives the same arm.

CREATE TABLE scripts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    question_keys TEXT NOT NULL,
    created_by BIGINT,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (campaign_id, id),
    FOREIGN KEY (campaign_id, created_by) REFERENCES users (campaign_id, id)
);

CREATE TABLE experiments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    name TEXT NOT NULL,
    arms TEXT NOT NULL,
    scope_kind TEXT NOT NULL CHECK (scope_kind IN ('campaign', 'region', 'turfs')),
    scope TEXT NOT NULL,
    region_id BIGINT,
    outcome TEXT NOT NULL,
    min_contacts BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'stopped')),
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP,
    created_by BIGINT,
    created_at TIMESTAMP NOT NULL,
    stopped_at TIMESTAMP,
    UNIQUE (campaign_id, id),
    FOREIGN KEY (campaign_id, created_by) REFERENCES users (campaign_id, id)
);

CREATE TABLE experiment_doors (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    experiment_id BIGINT NOT NULL,
    door_id BIGINT NOT NULL,
    arm BIGINT NOT NULL,
    script_id BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, experiment_id, door_id),
    FOREIGN KEY (campaign_id, experiment_id) REFERENCES experiments (campaign_id, id),
    FOREIGN KEY (campaign_id, door_id) REFERENCES doors (campaign_id, id)
);
CREATE INDEX experiment_doors_door ON experiment_doors (campaign_id, door_id);
