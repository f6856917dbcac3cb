-- Workflow definitions (from the API or from YAML files), with their trigger state.
CREATE TABLE workflows (
    name         text PRIMARY KEY,
    definition   jsonb NOT NULL,
    origin       text NOT NULL DEFAULT 'api',      -- 'api' or 'file:<path>'
    paused       boolean NOT NULL DEFAULT false,
    last_tick    timestamptz,                      -- the newest scheduled tick decided
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- One row per workflow run. A scheduled tick's run has tick_key = workflow@tick: every
-- replica computes the same ticks and inserts the same key, and only the first insert wins,
-- so a tick fires once however many replicas run (and whichever dies).
CREATE TABLE runs (
    id             text PRIMARY KEY,
    workflow       text NOT NULL,
    tick_key       text UNIQUE,
    trigger        text NOT NULL,                  -- schedule, manual, after, event, backfill
    status         text NOT NULL DEFAULT 'queued', -- queued running succeeded failed cancelled skipped
    logical_start  timestamptz,
    logical_end    timestamptz,
    params         jsonb NOT NULL DEFAULT '{}',
    reason         text,                           -- why it was skipped, cancelled or failed
    owner          text,                           -- the replica running it ...
    lease_until    timestamptz,                    -- ... while this is in the future
    cancel         boolean NOT NULL DEFAULT false,
    sla_alerted    boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    started_at     timestamptz,
    finished_at    timestamptz
);
CREATE INDEX runs_workflow ON runs (workflow, created_at DESC, id DESC);
CREATE INDEX runs_open ON runs (status, created_at) WHERE status IN ('queued', 'running');

-- The steps of a run, with their attempts and the pipeline runs they started.
CREATE TABLE steps (
    run_id         text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name           text NOT NULL,
    status         text NOT NULL DEFAULT 'pending', -- pending running succeeded failed skipped cancelled
    attempt        integer NOT NULL DEFAULT 0,
    pipeline_runs  jsonb NOT NULL DEFAULT '[]',
    output         jsonb,
    error          text,
    retry_at       timestamptz,
    started_at     timestamptz,
    finished_at    timestamptz,
    PRIMARY KEY (run_id, name)
);

-- Alerts sent (or being retried) to webhooks, recorded.
CREATE TABLE notifications (
    id           bigserial PRIMARY KEY,
    run_id       text NOT NULL,
    workflow     text NOT NULL,
    event        text NOT NULL,                    -- failure, success, sla
    target       text NOT NULL,
    status       text NOT NULL DEFAULT 'pending',  -- pending sent failed
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz,
    UNIQUE (run_id, event, target)
);
