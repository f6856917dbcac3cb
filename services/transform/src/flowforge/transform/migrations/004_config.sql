-- Configuration transform acts on, owned here (it was kept by the gateway before).
-- Gold models: DuckDB SQL over datasets and other models, with their build state.
CREATE TABLE models (
    name           text PRIMARY KEY,
    sql            text NOT NULL,
    depends_on     text[] NOT NULL DEFAULT '{}',
    -- Additive columns to reconcile: {"<gold column>": "<dataset>.<column>"}.
    reconcile      jsonb NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    -- The last build: when, its id (also in the Gold file's metadata), rows and columns.
    built_at       timestamptz,
    build_id       text,
    row_count      bigint,
    columns        jsonb,
    -- The last failed build's reason (cleared by the next successful build).
    last_error     text,
    last_error_at  timestamptz
);

-- A dataset's Silver spec beyond the safe defaults: renames {Silver column: new name} and
-- declared types {Silver column: type spec}, typed by a person or accepted from a suggestion.
CREATE TABLE silver_specs (
    dataset     text PRIMARY KEY,
    renames     jsonb NOT NULL DEFAULT '{}',
    types       jsonb NOT NULL DEFAULT '{}',
    updated_at  timestamptz NOT NULL DEFAULT now()
);
