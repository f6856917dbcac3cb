-- What a dataset (or Gold model) and each of its columns is, in words: accepted from an AI
-- suggestion (the LLM's or the offline profiler's) or written by a person. column_name ''
-- is the dataset itself. Served with the schema, exported as dbt-style and OpenLineage docs.
CREATE TABLE descriptions (
    dataset      text NOT NULL,
    column_name  text NOT NULL DEFAULT '',
    description  text NOT NULL,
    source       text NOT NULL,
    updated_by   text NOT NULL DEFAULT '',
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dataset, column_name)
);
