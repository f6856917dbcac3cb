-- A dataset's data-quality rules (flowforge.common.rules.Rule as JSON), in evaluation order.
CREATE TABLE rules (
    dataset     text NOT NULL,
    name        text NOT NULL,
    position    integer NOT NULL,
    spec        jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dataset, name)
);

-- Gold columns declared additive: {"<gold column>": "<dataset>.<column>"}; quality checks
-- after each build that their sum equals the source column's sum over Silver's valid rows.
ALTER TABLE models ADD COLUMN reconcile jsonb NOT NULL DEFAULT '{}';
