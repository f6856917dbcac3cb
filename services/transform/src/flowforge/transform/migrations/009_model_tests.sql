-- Per-model tests (rules in the quality vocabulary, run over each build's result before it
-- is committed) and the last build's results.
ALTER TABLE models ADD COLUMN tests jsonb NOT NULL DEFAULT '[]';
ALTER TABLE models ADD COLUMN test_results jsonb NOT NULL DEFAULT '[]';
