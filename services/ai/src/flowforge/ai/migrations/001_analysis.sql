-- Column profiles of each Bronze batch (computed from the written Parquet when it lands).
CREATE TABLE profiles (
    run_id              text PRIMARY KEY,
    dataset             text NOT NULL,
    schema_fingerprint  text NOT NULL,
    bronze_uri          text NOT NULL,
    rows                bigint NOT NULL,
    columns             jsonb NOT NULL,
    seconds             double precision NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX profiles_dataset ON profiles (dataset, created_at DESC);

-- Each analysis of a batch: the offline detector's, and an LLM's (`source` = provider:model).
-- LLM analyses are reused for a later batch with the same schema fingerprint (the cache).
CREATE TABLE analyses (
    run_id              text NOT NULL,
    source              text NOT NULL,
    dataset             text NOT NULL,
    schema_fingerprint  text NOT NULL,
    result              jsonb NOT NULL,
    tokens              integer NOT NULL DEFAULT 0,
    attempts            jsonb NOT NULL DEFAULT '[]',
    cached              boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, source)
);
CREATE INDEX analyses_fingerprint ON analyses (schema_fingerprint, created_at DESC);
CREATE INDEX analyses_dataset ON analyses (dataset, created_at DESC);

-- Tokens each dataset has spent on LLM analysis (checked against FLOWFORGE_AI_TOKEN_BUDGET).
CREATE TABLE usage (
    dataset     text PRIMARY KEY,
    tokens      bigint NOT NULL DEFAULT 0,
    calls       integer NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Suggestions a person can accept: one per dataset, kind, target and source (a later batch
-- refreshes it). kind: rule | rename | cast | key.
CREATE TABLE suggestions (
    id          bigserial PRIMARY KEY,
    dataset     text NOT NULL,
    kind        text NOT NULL,
    target      text NOT NULL,
    source      text NOT NULL,
    payload     jsonb NOT NULL,
    reason      text NOT NULL DEFAULT '',
    run_id      text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (dataset, kind, target, source)
);
