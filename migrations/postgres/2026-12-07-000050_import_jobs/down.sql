DROP TABLE import_chunks;
ALTER TABLE imports DROP COLUMN bytes;
ALTER TABLE imports DROP COLUMN attempts;
ALTER TABLE imports DROP COLUMN lease_until;
