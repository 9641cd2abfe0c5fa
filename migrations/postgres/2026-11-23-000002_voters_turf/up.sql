-- The voter file and turf: doors (addresses with their finest H3 cell), the people who
-- live there, import runs, and turfs as sets of H3 cells.
--
-- cell columns hold H3 indexes as 64-bit integers. A door keeps its resolution-15 cell;
-- a turf cell of resolution 9-11 keeps the range [lo, hi] of its resolution-15
-- descendants, so "doors in this turf" is a join on an index range, never a scan.

CREATE TABLE doors (
    id BIGSERIAL,
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    address_key TEXT NOT NULL,
    unit TEXT NOT NULL DEFAULT '',
    street TEXT NOT NULL,
    housenumber TEXT NOT NULL,
    postcode TEXT NOT NULL DEFAULT '',
    city TEXT NOT NULL DEFAULT '',
    lat DOUBLE PRECISION NOT NULL,
    lng DOUBLE PRECISION NOT NULL,
    cell BIGINT NOT NULL,
    do_not_walk BOOLEAN NOT NULL DEFAULT FALSE,
    last_contact_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (campaign_id, id),
    UNIQUE (campaign_id, address_key, unit)
);
CREATE INDEX doors_cell ON doors (campaign_id, cell);

CREATE TABLE people (
    id BIGSERIAL,
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    external_id TEXT NOT NULL,
    door_id BIGINT NOT NULL,
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    party TEXT,
    birth_year BIGINT,
    phone TEXT,
    do_not_walk BOOLEAN NOT NULL DEFAULT FALSE,
    deceased BOOLEAN NOT NULL DEFAULT FALSE,
    moved BOOLEAN NOT NULL DEFAULT FALSE,
    support_score DOUBLE PRECISION,
    turnout_score DOUBLE PRECISION,
    last_contact_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (campaign_id, id),
    UNIQUE (campaign_id, external_id),
    FOREIGN KEY (campaign_id, door_id) REFERENCES doors (campaign_id, id)
);
CREATE INDEX people_door ON people (campaign_id, door_id);

CREATE TABLE imports (
    id BIGSERIAL,
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    kind TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    rows_read BIGINT NOT NULL DEFAULT 0,
    created BIGINT NOT NULL DEFAULT 0,
    updated BIGINT NOT NULL DEFAULT 0,
    rejected BIGINT NOT NULL DEFAULT 0,
    errors TEXT NOT NULL DEFAULT '[]',
    message TEXT,
    created_by BIGINT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    PRIMARY KEY (campaign_id, id),
    FOREIGN KEY (campaign_id, created_by) REFERENCES users (campaign_id, id)
);

CREATE TABLE turfs (
    id BIGSERIAL,
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    name TEXT NOT NULL,
    region_id BIGINT,
    resolution BIGINT NOT NULL CHECK (resolution BETWEEN 9 AND 11),
    cell_count BIGINT NOT NULL,
    min_lng DOUBLE PRECISION NOT NULL,
    min_lat DOUBLE PRECISION NOT NULL,
    max_lng DOUBLE PRECISION NOT NULL,
    max_lat DOUBLE PRECISION NOT NULL,
    created_by BIGINT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (campaign_id, id),
    FOREIGN KEY (campaign_id, region_id) REFERENCES regions (campaign_id, id),
    FOREIGN KEY (campaign_id, created_by) REFERENCES users (campaign_id, id)
);

CREATE TABLE turf_cells (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    turf_id BIGINT NOT NULL,
    cell BIGINT NOT NULL,
    lo BIGINT NOT NULL,
    hi BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, turf_id, cell),
    FOREIGN KEY (campaign_id, turf_id) REFERENCES turfs (campaign_id, id) ON DELETE CASCADE
);
CREATE INDEX turf_cells_range ON turf_cells (campaign_id, lo);

-- A region may carry its area (GeoJSON Polygon or MultiPolygon), for auto-cut by region.
ALTER TABLE regions ADD COLUMN area TEXT;
