-- Configuration moved to the services that act on it: rules → quality, models and Silver
-- specs → transform, dataset contracts (key, schema and array policy) → ingest, decisions on
-- suggestions → ai. The gateway asks them over NATS. (Export rules as YAML before upgrading
-- an installation that kept them here.)
DROP TABLE IF EXISTS rules;
DROP TABLE IF EXISTS models;
DROP TABLE IF EXISTS suggestion_decisions;
DROP TABLE IF EXISTS datasets;

-- A re-upload of the same content to the same dataset is answered with the earlier run.
CREATE INDEX uploads_content ON uploads (dataset, content_hash, created_at DESC);

-- Long operations asked through the API (analyses, replays, releases, builds): each is a job
-- a client follows at /api/v1/jobs/{id} instead of holding its request open.
CREATE TABLE jobs (
    id           text PRIMARY KEY,
    kind         text NOT NULL,
    dataset      text,
    status       text NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    request      jsonb NOT NULL DEFAULT '{}',
    result       jsonb,
    error        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz
);
CREATE INDEX jobs_created ON jobs (created_at DESC, id DESC);
