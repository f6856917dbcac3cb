-- An incremental model's merges since its table's version (object keys, in order; each a
-- file of the rows one build gave and tombstones for the keys it no longer has), read beside
-- the table until a fold writes them into a new version.
ALTER TABLE models ADD COLUMN pending jsonb NOT NULL DEFAULT '[]';
ALTER TABLE models ADD COLUMN pending_rows bigint NOT NULL DEFAULT 0;
