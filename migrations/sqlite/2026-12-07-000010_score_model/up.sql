-- The score model on the logit scale (see src/scores): evidence is kept per kind
-- (support IDs 1-5, refused, hostile) so that what the campaign learns (the cell
-- residuals' variances) can be worked out from the sums when a score is read. Logits are
-- fixed-point integers (x 65536), so incremental updates and a rebuild agree exactly.
-- The old sums cannot be converted: every campaign with knocks is queued for a rebuild,
-- which the first server to start runs (score_rebuilds).

DROP TABLE person_evidence;
DROP TABLE cell_evidence;

CREATE TABLE person_evidence (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    person_id BIGINT NOT NULL,
    kind BIGINT NOT NULL,
    own BIGINT NOT NULL,
    mates BIGINT NOT NULL,
    mates_sum BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, person_id, kind),
    FOREIGN KEY (campaign_id, person_id) REFERENCES people (campaign_id, id)
);

CREATE TABLE cell_evidence (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    cell BIGINT NOT NULL,
    kind BIGINT NOT NULL,
    n BIGINT NOT NULL,
    sum BIGINT NOT NULL,
    sum_sq BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, cell, kind)
);

CREATE TABLE score_rebuilds (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    PRIMARY KEY (campaign_id)
);
INSERT INTO score_rebuilds (campaign_id)
SELECT c.id FROM campaigns c WHERE EXISTS (SELECT 1 FROM knocks k WHERE k.campaign_id = c.id);
