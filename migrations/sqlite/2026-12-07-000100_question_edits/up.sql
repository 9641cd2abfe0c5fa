-- Questions can be edited (text, labels, answers added) and retired. The version goes
-- into the walk-list ETag so phones fetch a list again after an edit.
ALTER TABLE questions ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
