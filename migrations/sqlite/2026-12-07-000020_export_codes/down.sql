DROP TABLE export_codes;
