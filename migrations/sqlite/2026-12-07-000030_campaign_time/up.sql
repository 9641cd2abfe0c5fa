-- Campaign time: a campaign's days, weeks and hours are counted in its IANA time zone
-- (UTC unless an admin sets another). The progress tallies are now kept per day of
-- campaign time and per walk list (progress by list), and the answers to the
-- campaign's choice questions are tallied beside them (progress_answers). The server
-- fills both from the stored knocks once, right after this migration.
ALTER TABLE campaigns ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';

DROP TABLE progress_tallies;
CREATE TABLE progress_tallies (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    day DATE NOT NULL,
    walk_list_id BIGINT NOT NULL,
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
    PRIMARY KEY (campaign_id, day, walk_list_id, user_id, cell)
);

CREATE TABLE progress_answers (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    day DATE NOT NULL,
    walk_list_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    cell BIGINT NOT NULL,
    question_key TEXT NOT NULL,
    answer TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, day, walk_list_id, user_id, cell, question_key, answer)
);
