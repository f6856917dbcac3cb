-- Column-level lineage of each Gold model, as its last build's SQL says: each output column
-- and the input columns (of a Silver dataset or another model) it is computed from.
CREATE TABLE column_lineage (
    model          text NOT NULL,
    column_name    text NOT NULL,
    source         text NOT NULL,     -- a lineage node: silver:<dataset> or gold:<model>
    source_column  text NOT NULL,
    last_run_id    text,
    PRIMARY KEY (model, column_name, source, source_column)
);
