-- One row per run that reached Silver; `promoted` once quality let it through to Gold.
CREATE TABLE batches (
    run_id          text PRIMARY KEY,
    dataset         text NOT NULL,
    bronze_key      text NOT NULL,
    silver_key      text NOT NULL,
    quarantine_key  text,
    key_columns     text[] NOT NULL DEFAULT '{}',
    promoted        boolean NOT NULL DEFAULT false,
    silver_at       timestamptz NOT NULL DEFAULT now(),
    promoted_at     timestamptz
);
CREATE INDEX batches_dataset ON batches (dataset, promoted);
