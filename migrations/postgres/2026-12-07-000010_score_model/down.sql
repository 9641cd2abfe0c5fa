DROP TABLE score_rebuilds;
DROP TABLE person_evidence;
DROP TABLE cell_evidence;

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
