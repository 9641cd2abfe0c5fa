-- Supporter scores that learn (see src/scores): each person's summed evidence, each
-- resolution-8 cell's support IDs, and a history row for every change.
-- Evidence is kept as whole-number sums, so incremental updates and a full rebuild
-- agree exactly.

CREATE TABLE person_evidence (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    person_id BIGINT NOT NULL,
    weight BIGINT NOT NULL,
    weighted BIGINT NOT NULL,
    has_own_id BOOLEAN NOT NULL,
    PRIMARY KEY (campaign_id, person_id),
    FOREIGN KEY (campaign_id, person_id) REFERENCES people (campaign_id, id)
);

CREATE TABLE cell_evidence (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    cell BIGINT NOT NULL,
    ids BIGINT NOT NULL,
    target_sum BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, cell)
);

CREATE TABLE score_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    person_id BIGINT,
    cell BIGINT,
    knock_id BIGINT,
    rule TEXT NOT NULL,
    old_score DOUBLE,
    new_score DOUBLE NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (campaign_id, id)
);
CREATE INDEX score_history_person ON score_history (campaign_id, person_id);
