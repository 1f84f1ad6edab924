DROP TABLE IF EXISTS placeholder;
