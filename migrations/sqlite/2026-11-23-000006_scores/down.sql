DROP TABLE score_history;
DROP TABLE cell_evidence;
DROP TABLE person_evidence;
