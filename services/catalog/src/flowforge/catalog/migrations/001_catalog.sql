-- Runs: one per landed file, with the row accounting of every stage.
CREATE TABLE runs (
    run_id        text PRIMARY KEY,
    dataset       text NOT NULL,
    filename      text NOT NULL DEFAULT '',
    content_hash  text NOT NULL DEFAULT '',
    status        text NOT NULL DEFAULT 'queued',
    verdict       text,
    error         text,
    parsed        bigint,
    rejected      bigint,
    bronze        bigint,
    duplicates    bigint,
    silver        bigint,
    quarantined   bigint,
    valid         bigint,
    details       jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX runs_dataset ON runs (dataset, created_at DESC);

CREATE TABLE stages (
    run_id       text NOT NULL,
    name         text NOT NULL,
    position     int  NOT NULL,
    status       text NOT NULL DEFAULT 'pending',
    started_at   timestamptz,
    finished_at  timestamptz,
    error        text,
    PRIMARY KEY (run_id, name)
);

-- Assets: a dataset (or Gold model) in one layer, with its current schema and version.
CREATE TABLE assets (
    dataset             text NOT NULL,
    layer               text NOT NULL,
    location            text NOT NULL,
    columns             jsonb NOT NULL DEFAULT '[]',
    schema_fingerprint  text NOT NULL DEFAULT '',
    version             int  NOT NULL DEFAULT 1,
    row_count           bigint NOT NULL DEFAULT 0,
    last_run_id         text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dataset, layer)
);

CREATE TABLE asset_versions (
    dataset             text NOT NULL,
    layer               text NOT NULL,
    version             int  NOT NULL,
    schema_fingerprint  text NOT NULL,
    columns             jsonb NOT NULL,
    run_id              text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dataset, layer, version)
);

-- The objects that make up each asset, per run (and the run's rejected / quarantine files).
CREATE TABLE asset_objects (
    dataset     text NOT NULL,
    layer       text NOT NULL,
    run_id      text NOT NULL,
    uri         text NOT NULL,
    rows        bigint NOT NULL DEFAULT 0,
    promoted    boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dataset, layer, run_id)
);

CREATE TABLE lineage_edges (
    source       text NOT NULL,
    target       text NOT NULL,
    kind         text NOT NULL DEFAULT 'data',
    last_run_id  text,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, target)
);

-- Audit log: every event the catalog recorded, once.
CREATE TABLE events (
    id           text PRIMARY KEY,
    subject      text NOT NULL,
    run_id       text,
    dataset      text,
    received_at  timestamptz NOT NULL DEFAULT now(),
    payload      jsonb NOT NULL
);
CREATE INDEX events_run ON events (run_id);
