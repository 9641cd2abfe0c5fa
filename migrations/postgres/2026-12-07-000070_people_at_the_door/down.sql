DROP INDEX doors_street_search;
DROP INDEX people_first_name_search;
DROP INDEX people_last_name_search;
ALTER TABLE people DROP COLUMN preferred_language;
ALTER TABLE people DROP COLUMN email;
