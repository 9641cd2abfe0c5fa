DROP TABLE progress_answers;
DROP TABLE progress_tallies;
CREATE TABLE progress_tallies (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    day DATE NOT NULL,
    turf_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    cell BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    contacts BIGINT NOT NULL,
    support_1 BIGINT NOT NULL,
    support_2 BIGINT NOT NULL,
    support_3 BIGINT NOT NULL,
    support_4 BIGINT NOT NULL,
    support_5 BIGINT NOT NULL,
    hours INTEGER NOT NULL,
    doors BLOB NOT NULL,
    PRIMARY KEY (campaign_id, day, turf_id, user_id, cell)
);
ALTER TABLE campaigns DROP COLUMN time_zone;
