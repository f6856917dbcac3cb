-- User configuration, owned by the gateway.
CREATE TABLE datasets (
    name        text PRIMARY KEY,
    key_columns text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE models (
    name        text PRIMARY KEY,
    sql         text NOT NULL,
    depends_on  text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Uploads accepted by the gateway, so a run is visible ("queued") before the catalog has it.
CREATE TABLE uploads (
    run_id        text PRIMARY KEY,
    dataset       text NOT NULL,
    filename      text NOT NULL,
    size_bytes    bigint NOT NULL,
    content_hash  text NOT NULL,
    landing_uri   text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
