-- Tags (activist codes): campaign-defined marks such as "yard sign" or "needs a ride",
-- applied to people or removed at the door inside a knock.
CREATE TABLE tags (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (campaign_id, key),
    UNIQUE (campaign_id, id)
);
CREATE TABLE person_tags (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    person_id BIGINT NOT NULL,
    tag_id BIGINT NOT NULL,
    -- When the tag was last applied or removed there; a removal stays as a row
    -- (removed) so that an older knock synced later cannot bring the tag back.
    applied_at TIMESTAMP NOT NULL,
    removed BOOLEAN NOT NULL DEFAULT FALSE,
    knock_id BIGINT,
    PRIMARY KEY (campaign_id, person_id, tag_id)
);
CREATE INDEX person_tags_tag ON person_tags (campaign_id, tag_id, person_id);
