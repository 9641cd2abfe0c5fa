DROP TABLE building_notes;
