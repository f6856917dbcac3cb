-- Each dataset's landing contract, owned by ingest (it acts on it; the gateway kept it before):
-- the key carried with every run, the schema policy for new files, the array policy, and the
-- Bronze columns so far (what the schema policy compares a new file with).
CREATE TABLE datasets (
    name            text PRIMARY KEY,
    key_columns     text[] NOT NULL DEFAULT '{}',
    schema_policy   text NOT NULL DEFAULT 'evolve'
                    CHECK (schema_policy IN ('evolve', 'freeze', 'discard_row')),
    array_policy    text NOT NULL DEFAULT 'json' CHECK (array_policy IN ('json', 'columns')),
    bronze_columns  jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
