-- A dataset's data-quality rules (flowforge.common.rules.Rule as JSON), in evaluation order.
-- Owned here, by the service that runs them (the gateway kept them before).
CREATE TABLE rules (
    dataset     text NOT NULL,
    name        text NOT NULL,
    position    integer NOT NULL,
    spec        jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dataset, name)
);
