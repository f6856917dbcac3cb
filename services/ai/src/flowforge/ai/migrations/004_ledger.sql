-- Every LLM call, and every call not made (over a budget, rate limited) or answered from the
-- prompt cache (issue 18 part 5): which provider and model, for what purpose, its tokens and
-- estimated cost in US dollars (the settings' price table), how it went and why. `pending`
-- rows are calls under way: the daily budget counts them at their estimate.
CREATE TABLE calls (
    id                bigserial PRIMARY KEY,
    at                timestamptz NOT NULL DEFAULT now(),
    purpose           text NOT NULL,
    dataset           text NOT NULL DEFAULT '',
    provider          text NOT NULL,
    model             text NOT NULL,
    input_tokens      integer NOT NULL DEFAULT 0,
    output_tokens     integer NOT NULL DEFAULT 0,
    cost_usd          double precision NOT NULL DEFAULT 0,
    estimated_tokens  integer NOT NULL DEFAULT 0,
    estimated_cost    double precision NOT NULL DEFAULT 0,
    cached            boolean NOT NULL DEFAULT false,
    outcome           text NOT NULL CHECK (outcome IN ('pending', 'ok', 'invalid', 'refused',
                                                       'error', 'skipped', 'cached')),
    reason            text NOT NULL DEFAULT ''
);
CREATE INDEX calls_at ON calls (at DESC);

-- Validated LLM answers, by what was asked: the purpose, the prompt's version, the schema
-- fingerprint it was drawn from, and its scope (the dataset; for a model draft, the question).
-- The same question of the same schema is answered from here, with no call.
CREATE TABLE prompt_cache (
    purpose         text NOT NULL,
    prompt_version  text NOT NULL,
    fingerprint     text NOT NULL,
    scope           text NOT NULL,
    source          text NOT NULL,
    answer          jsonb NOT NULL,
    tokens          integer NOT NULL DEFAULT 0,
    hits            integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_hit_at     timestamptz,
    PRIMARY KEY (purpose, prompt_version, fingerprint, scope)
);

-- The LLM analyses cached before this table (the latest per dataset and schema) stay cached.
INSERT INTO prompt_cache (purpose, prompt_version, fingerprint, scope, source, answer, tokens)
SELECT DISTINCT ON (dataset, schema_fingerprint) 'analysis', 'analysis-1', schema_fingerprint,
       dataset, source, result -> 'answer', tokens
FROM analyses
WHERE source NOT IN ('offline', 'llm-failed') AND result ? 'answer'
ORDER BY dataset, schema_fingerprint, created_at DESC;
