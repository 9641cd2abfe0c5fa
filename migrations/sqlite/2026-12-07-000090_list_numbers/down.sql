DROP TABLE list_numbers;
