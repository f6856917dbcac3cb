-- What a person decided about each suggestion (accepted or dismissed), with the payload it
-- was decided on: a later batch that changes the suggestion shows it as open again.
-- Owned here with the suggestions (the gateway kept it before).
CREATE TABLE decisions (
    suggestion_id  bigint PRIMARY KEY REFERENCES suggestions (id) ON DELETE CASCADE,
    dataset        text NOT NULL,
    decision       text NOT NULL CHECK (decision IN ('accepted', 'dismissed')),
    payload        jsonb NOT NULL,
    detail         jsonb NOT NULL DEFAULT '{}',
    decided_at     timestamptz NOT NULL DEFAULT now()
);
