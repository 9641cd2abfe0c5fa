DROP TABLE experiment_doors;
DROP TABLE experiments;
DROP TABLE scripts;
