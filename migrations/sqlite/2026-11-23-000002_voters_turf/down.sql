DROP TABLE turf_cells;
DROP TABLE turfs;
DROP TABLE imports;
DROP TABLE people;
DROP TABLE doors;
ALTER TABLE regions DROP COLUMN area;
