-- The dataset's Silver spec beyond the safe defaults: {"renames": {silver column: new name},
-- "types": {silver column: type spec}}; typed by a person or accepted from a suggestion.
ALTER TABLE datasets ADD COLUMN silver_spec jsonb NOT NULL DEFAULT '{}';

-- What a person decided about each AI suggestion (the suggestions are the ai service's).
CREATE TABLE suggestion_decisions (
    suggestion_id  bigint PRIMARY KEY,
    dataset        text NOT NULL,
    decision       text NOT NULL CHECK (decision IN ('accepted', 'dismissed')),
    payload        jsonb NOT NULL,
    detail         jsonb NOT NULL DEFAULT '{}',
    decided_at     timestamptz NOT NULL DEFAULT now()
);
