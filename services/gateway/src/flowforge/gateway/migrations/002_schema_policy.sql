-- The dataset's schema contract for new files: evolve (default), freeze or discard_row.
ALTER TABLE datasets ADD COLUMN schema_policy text NOT NULL DEFAULT 'evolve'
    CHECK (schema_policy IN ('evolve', 'freeze', 'discard_row'));
