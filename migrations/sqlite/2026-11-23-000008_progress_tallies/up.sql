-- Running progress tallies (see src/progress.rs): per campaign, day, turf, volunteer and
-- resolution-9 cell, the knocks' sums, a 24-bit mask of the hours (UTC) with a knock,
-- and the set of doors knocked as a Roaring bitmap of door ids. The knock sync keeps
-- them in the knock's transaction; the server fills them from the stored knocks once,
-- right after this migration. Knocks are never deleted, so there is nothing to undo.
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
