-- A list's number is never given twice in a campaign, even after the newest list was
-- deleted: the last number given is kept here (a table of its own, so numbering a list
-- never locks the campaign row that knock batches share-lock).
CREATE TABLE list_numbers (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    last_number BIGINT NOT NULL,
    PRIMARY KEY (campaign_id)
);
INSERT INTO list_numbers (campaign_id, last_number)
SELECT campaign_id, MAX(number) FROM walk_lists GROUP BY campaign_id;
