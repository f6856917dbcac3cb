-- Whole-pipeline proposals for a new file or table (issue 18 part 2): the document drafted
-- from a sample (parts: key, source, silver, rules, model, schedule; the reasons; what the LLM
-- proposed that could not be used), the dry run on the sample, and each part's decision
-- ({part: {status: applying | accepted | refused | open, reason, by, at}}).
CREATE TABLE proposals (
    id          text PRIMARY KEY,
    dataset     text NOT NULL,
    origin      jsonb NOT NULL,
    status      text NOT NULL CHECK (status IN ('drafted', 'ready', 'failed', 'accepted',
                                                'partly_accepted')),
    source      text NOT NULL DEFAULT 'offline',
    document    jsonb NOT NULL DEFAULT '{}',
    dry_run     jsonb,
    decisions   jsonb NOT NULL DEFAULT '{}',
    error       text,
    created_by  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX proposals_created ON proposals (created_at DESC);
CREATE INDEX proposals_dataset ON proposals (dataset, created_at DESC);
