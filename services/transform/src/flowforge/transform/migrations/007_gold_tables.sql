-- Gold models are Delta tables (lakehouse/gold/<model>/): the version readers use is recorded
-- after each build's commit, as for Silver tables.
ALTER TABLE models ADD COLUMN version bigint;
