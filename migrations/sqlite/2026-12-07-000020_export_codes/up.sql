-- The campaign's codes for its voter file: what a result, a question or an answer is
-- called there. A data lead maps them once; the contacts export writes them.
CREATE TABLE export_codes (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    kind TEXT NOT NULL,
    local_key TEXT NOT NULL,
    code TEXT NOT NULL,
    PRIMARY KEY (campaign_id, kind, local_key)
);
