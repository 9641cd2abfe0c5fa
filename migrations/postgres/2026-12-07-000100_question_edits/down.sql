ALTER TABLE questions DROP COLUMN version;
