-- Door knocks synced from the phones, and the survey questions they answer.
--
-- A knock is stored once per (campaign_id, client_id): the phone makes the id, so a
-- batch sent twice finds its knocks already there. content_hash tells a true duplicate
-- (same content) from a conflict (same id, different content).

CREATE TABLE questions (
    id BIGSERIAL,
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    key TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('single_choice', 'multiple_choice', 'free_text')),
    text TEXT NOT NULL,
    answers TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (campaign_id, id),
    UNIQUE (campaign_id, key)
);

CREATE TABLE knocks (
    id BIGSERIAL,
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    client_id TEXT NOT NULL,
    user_id BIGINT NOT NULL,
    walk_list_id BIGINT NOT NULL,
    door_id BIGINT NOT NULL,
    result TEXT NOT NULL,
    notes TEXT NOT NULL DEFAULT '',
    people TEXT NOT NULL DEFAULT '[]',
    script_id BIGINT,
    knocked_at TIMESTAMP NOT NULL,
    received_at TIMESTAMP NOT NULL,
    lat DOUBLE PRECISION,
    lng DOUBLE PRECISION,
    accuracy_m DOUBLE PRECISION,
    distance_m DOUBLE PRECISION,
    location_quality TEXT NOT NULL CHECK (location_quality IN ('fine', 'doubtful', 'unverified', 'none')),
    content_hash TEXT NOT NULL,
    PRIMARY KEY (campaign_id, id),
    UNIQUE (campaign_id, client_id),
    FOREIGN KEY (campaign_id, user_id) REFERENCES users (campaign_id, id),
    FOREIGN KEY (campaign_id, walk_list_id) REFERENCES walk_lists (campaign_id, id),
    FOREIGN KEY (campaign_id, door_id) REFERENCES doors (campaign_id, id)
);
CREATE INDEX knocks_list ON knocks (campaign_id, walk_list_id);
CREATE INDEX knocks_door ON knocks (campaign_id, door_id);
CREATE INDEX knocks_time ON knocks (campaign_id, knocked_at);

CREATE TABLE knock_answers (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    knock_id BIGINT NOT NULL,
    person_id BIGINT NOT NULL,
    question_key TEXT NOT NULL,
    answer TEXT NOT NULL,
    PRIMARY KEY (campaign_id, knock_id, person_id, question_key),
    FOREIGN KEY (campaign_id, knock_id) REFERENCES knocks (campaign_id, id),
    FOREIGN KEY (campaign_id, person_id) REFERENCES people (campaign_id, id)
);
CREATE INDEX knock_answers_person ON knock_answers (campaign_id, person_id);

-- What each stop of a list has seen: the latest result by knock time, and whether any
-- result closed the door for this list.
ALTER TABLE walk_list_stops ADD COLUMN last_result TEXT;
ALTER TABLE walk_list_stops ADD COLUMN last_knocked_at TIMESTAMP;
ALTER TABLE walk_list_stops ADD COLUMN finished BOOLEAN NOT NULL DEFAULT FALSE;
-- A door moved to another list keeps its row here (not live), so knocks recorded
-- offline against this list still sync; moved_to names the list it went to.
-- walk_list_holders remembers everyone who ever held a list (assigned or claimed),
-- so a phone whose claim lapsed or was released still syncs what it knocked.
ALTER TABLE walk_list_stops ADD COLUMN moved_to BIGINT;
CREATE TABLE walk_list_holders (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    walk_list_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, walk_list_id, user_id),
    FOREIGN KEY (campaign_id, walk_list_id) REFERENCES walk_lists (campaign_id, id) ON DELETE CASCADE,
    FOREIGN KEY (campaign_id, user_id) REFERENCES users (campaign_id, id)
);
