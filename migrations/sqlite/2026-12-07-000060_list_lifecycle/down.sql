DROP INDEX walk_lists_number;
ALTER TABLE walk_lists DROP COLUMN closed_at;
ALTER TABLE walk_lists DROP COLUMN contacts;
ALTER TABLE walk_lists DROP COLUMN finished_doors;
ALTER TABLE walk_lists DROP COLUMN number;
