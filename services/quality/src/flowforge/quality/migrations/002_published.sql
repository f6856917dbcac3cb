-- The `quality.checked` an evaluation published: a redelivered `silver.ready` republishes it
-- as it was instead of evaluating again (rules or referenced data may have changed since).
ALTER TABLE evaluations ADD COLUMN checked_event jsonb;
