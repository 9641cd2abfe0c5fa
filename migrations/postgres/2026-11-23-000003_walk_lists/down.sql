DROP TABLE push_messages;
DROP TABLE walk_list_assignments;
DROP TABLE walk_list_cells;
DROP TABLE walk_list_people;
DROP TABLE walk_list_stops;
DROP TABLE walk_lists;
