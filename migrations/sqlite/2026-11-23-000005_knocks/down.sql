DROP TABLE walk_list_holders;
ALTER TABLE walk_list_stops DROP COLUMN moved_to;
ALTER TABLE walk_list_stops DROP COLUMN finished;
ALTER TABLE walk_list_stops DROP COLUMN last_knocked_at;
ALTER TABLE walk_list_stops DROP COLUMN last_result;
DROP TABLE knock_answers;
DROP TABLE knocks;
DROP TABLE questions;
