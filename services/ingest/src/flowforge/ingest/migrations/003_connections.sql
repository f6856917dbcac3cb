-- Source database connections (issue 13). The password is sealed (flowforge.common.secretbox)
-- under a key that is not in the database; it is never returned, logged or sent in an event.
CREATE TABLE connections (
    name            text PRIMARY KEY,
    kind            text NOT NULL,
    host            text NOT NULL,
    port            integer NOT NULL,
    database        text NOT NULL DEFAULT '',
    username        text NOT NULL DEFAULT '',
    password_sealed text,
    options         jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
