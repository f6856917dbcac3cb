-- Every evaluation of a Silver batch: the first on `silver.ready` (revision 0), then one per
-- replay or release (revision 1, 2, ...). The SilverReady event is kept so a replay can
-- re-evaluate the batch and publish what follows it.
CREATE TABLE evaluations (
    run_id          text NOT NULL,
    revision        integer NOT NULL,
    dataset         text NOT NULL,
    trigger         text NOT NULL,
    verdict         text NOT NULL,
    rows            bigint NOT NULL,
    quarantined     bigint NOT NULL,
    quarantine_key  text,
    silver_event    jsonb NOT NULL,
    started_at      timestamptz NOT NULL,
    seconds         double precision NOT NULL,
    PRIMARY KEY (run_id, revision)
);
CREATE INDEX evaluations_dataset ON evaluations (dataset, started_at DESC);

-- One row per check of an evaluation: structural checks, the dataset's rules, reconciliation.
CREATE TABLE check_results (
    run_id       text NOT NULL,
    revision     integer NOT NULL,
    position     integer NOT NULL,
    name         text NOT NULL,
    rule_type    text NOT NULL,
    column_name  text,
    action       text,
    status       text NOT NULL,
    failed_rows  bigint NOT NULL,
    total_rows   bigint,
    detail       text NOT NULL,
    examples     jsonb NOT NULL DEFAULT '[]',
    PRIMARY KEY (run_id, revision, position),
    FOREIGN KEY (run_id, revision) REFERENCES evaluations ON DELETE CASCADE
);
CREATE INDEX check_results_name ON check_results (name);

-- Rows a person released from quarantine, per rule ('*': every rule). Later evaluations of
-- the batch count them as passing that rule.
CREATE TABLE releases (
    run_id       text NOT NULL,
    source_line  bigint NOT NULL,
    rule         text NOT NULL,
    dataset      text NOT NULL,
    reason       text NOT NULL DEFAULT '',
    released_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, source_line, rule)
);
CREATE INDEX releases_dataset ON releases (dataset);

-- Cross-layer sums after Gold (a model's additive columns against Silver's valid rows).
CREATE TABLE reconciliations (
    run_id      text NOT NULL,
    revision    integer NOT NULL,
    dataset     text NOT NULL,
    model       text NOT NULL,
    name        text NOT NULL,
    status      text NOT NULL,
    expected    double precision,
    actual      double precision,
    detail      text NOT NULL,
    checked_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, revision, model, name)
);
CREATE INDEX reconciliations_dataset ON reconciliations (dataset, checked_at DESC);
