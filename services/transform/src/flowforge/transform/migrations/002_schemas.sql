-- The type spec of each Silver column of a dataset, pinned by the first batch that had it:
-- later batches are cast the same way whenever their values fit.
CREATE TABLE schemas (
    dataset     text PRIMARY KEY,
    specs       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
