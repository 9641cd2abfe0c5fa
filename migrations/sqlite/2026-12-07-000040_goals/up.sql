-- Goals a director sets: so many doors (or contacts) in a region, or in the whole
-- campaign, over a range of days of campaign time (one day for a daily goal).
CREATE TABLE goals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    region_id BIGINT,
    metric TEXT NOT NULL CHECK (metric IN ('doors', 'contacts')),
    starts_on DATE NOT NULL,
    ends_on DATE NOT NULL,
    target BIGINT NOT NULL,
    created_by BIGINT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX goals_campaign ON goals (campaign_id, id);
