-- Walk-list lifecycle: a short list number per campaign that a canvasser can type or
-- read off paper, how far a list got (doors finished, doors with a conversation), and
-- when an organizer closed it (a closed list is stored as expired: its doors are back
-- in the pool).
ALTER TABLE walk_lists ADD COLUMN number BIGINT NOT NULL DEFAULT 0;
ALTER TABLE walk_lists ADD COLUMN finished_doors BIGINT NOT NULL DEFAULT 0;
ALTER TABLE walk_lists ADD COLUMN contacts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE walk_lists ADD COLUMN closed_at TIMESTAMP;

UPDATE walk_lists SET number = (
    SELECT COUNT(*) FROM walk_lists w2
     WHERE w2.campaign_id = walk_lists.campaign_id AND w2.id <= walk_lists.id);
UPDATE walk_lists SET finished_doors = (
    SELECT COUNT(*) FROM walk_list_stops s
     WHERE s.campaign_id = walk_lists.campaign_id AND s.walk_list_id = walk_lists.id
       AND s.moved_to IS NULL AND s.finished);
UPDATE walk_lists SET contacts = (
    SELECT COUNT(DISTINCT k.door_id) FROM knocks k
     WHERE k.campaign_id = walk_lists.campaign_id AND k.walk_list_id = walk_lists.id
       AND k.result = 'contacted');
CREATE UNIQUE INDEX walk_lists_number ON walk_lists (campaign_id, number);
