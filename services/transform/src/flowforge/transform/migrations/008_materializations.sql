-- How a model is built (dbt's names): `table` (rebuilt), `incremental` (merged by
-- `unique_key` from the input rows that changed), `snapshot` (SCD type 2 history by
-- `unique_key`); the snapshot's `strategy`, `updated_at`, `check_cols`, `hard_deletes` in
-- `config`; documentation; and what the last build read ({dataset: [run ids]}) so the next
-- incremental build knows which rows are new.
ALTER TABLE models ADD COLUMN materialized text NOT NULL DEFAULT 'table';
ALTER TABLE models ADD COLUMN unique_key text[] NOT NULL DEFAULT '{}';
ALTER TABLE models ADD COLUMN config jsonb NOT NULL DEFAULT '{}';
ALTER TABLE models ADD COLUMN description text NOT NULL DEFAULT '';
ALTER TABLE models ADD COLUMN column_docs jsonb NOT NULL DEFAULT '{}';
ALTER TABLE models ADD COLUMN built_from jsonb NOT NULL DEFAULT '{}';
