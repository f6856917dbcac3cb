-- The quality revision that last decided a batch's promotion: an older `quality.checked`
-- (a redelivery, or a replay overtaken by a later one) never undoes a newer decision.
ALTER TABLE batches ADD COLUMN revision integer NOT NULL DEFAULT -1;
