-- Notes on a building (doors sharing an address, one per unit): access, where the
-- entry code is, "doorman". Keyed by the address, so every unit's door finds them.
CREATE TABLE building_notes (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    address_key TEXT NOT NULL,
    notes TEXT NOT NULL,
    updated_by BIGINT,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (campaign_id, address_key)
);
