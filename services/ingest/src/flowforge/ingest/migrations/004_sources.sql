-- A dataset extracted from a source database (issue 13): what, how, and how far it got.
-- `watermark` is the cursor's text form of the highest value committed to Bronze; it moves
-- only after an extract is committed, so a crash re-extracts the same window.
CREATE TABLE sources (
    dataset     text PRIMARY KEY,
    connection  text NOT NULL REFERENCES connections (name) ON DELETE RESTRICT,
    source_table text,
    query       text,
    mode        text NOT NULL CHECK (mode IN ('full', 'incremental')),
    cursor_column text,
    initial     text,
    lookback    double precision NOT NULL DEFAULT 0,
    watermark   text,
    watermark_run text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((source_table IS NULL) <> (query IS NULL))
);
