-- How JSON/Parquet arrays land in Bronze: `json` (the array's JSON text in one column) or
-- `columns` (one column per element, `tags__0`, `tags__1`, ...; objects flattened inside).
ALTER TABLE datasets ADD COLUMN array_policy text NOT NULL DEFAULT 'json'
    CHECK (array_policy IN ('json', 'columns'));
