DROP TABLE person_tags;
DROP TABLE tags;
