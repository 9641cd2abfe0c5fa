-- People at the door: an email and a preferred language canvassers can record, and
-- indexes for looking a person up by name or street (prefixes, as ranges of text with
-- ASCII letters lower-cased: lower() under the "C" collation, which is what SQLite's
-- lower() does, so both stores find the same people).
ALTER TABLE people ADD COLUMN email TEXT;
ALTER TABLE people ADD COLUMN preferred_language TEXT;
CREATE INDEX people_last_name_search ON people (campaign_id, lower(last_name COLLATE "C"));
CREATE INDEX people_first_name_search ON people (campaign_id, lower(first_name COLLATE "C"));
CREATE INDEX doors_street_search ON doors (campaign_id, lower(street COLLATE "C"));
