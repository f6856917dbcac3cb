-- People: a name, an Argon2id password hash (never the password), a role.
CREATE TABLE users (
    name            text PRIMARY KEY,
    password_hash   text NOT NULL,
    role            text NOT NULL CHECK (role IN ('viewer', 'analyst', 'operator', 'admin')),
    disabled        boolean NOT NULL DEFAULT false,
    failed_logins   integer NOT NULL DEFAULT 0,
    locked_until    timestamptz,
    last_login_at   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Machines: an API key is `ffk_<id>_<secret>`; only the SHA-256 of the secret is kept (the key
-- is random and long, so a slow hash adds nothing but latency on every request).
CREATE TABLE api_keys (
    id            text PRIMARY KEY,
    name          text NOT NULL,
    role          text NOT NULL CHECK (role IN ('viewer', 'analyst', 'operator', 'admin')),
    secret_hash   text NOT NULL,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    revoked_at    timestamptz,
    last_used_at  timestamptz
);

-- Browser sessions (the web UI): the cookie holds a random token; only its SHA-256 is kept,
-- with the CSRF token the page must echo on unsafe requests.
CREATE TABLE sessions (
    token_hash    text PRIMARY KEY,
    user_name     text NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    csrf_token    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_user ON sessions (user_name);

-- Every change asked through the API (and every refused attempt): who, when, what, from where.
CREATE TABLE audit (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,          -- user:<name>, key:<id>, anonymous, system
    role        text,
    action      text NOT NULL,          -- e.g. rules.replace, quarantine.release, keys.create
    method      text NOT NULL,
    path        text NOT NULL,
    target      text,                   -- the dataset, model, user or key it was about
    status      integer NOT NULL,
    before      jsonb,
    after       jsonb,
    detail      jsonb NOT NULL DEFAULT '{}',
    source_ip   text,
    user_agent  text
);
CREATE INDEX audit_at ON audit (at DESC, id DESC);
CREATE INDEX audit_actor ON audit (actor, at DESC);
CREATE INDEX audit_target ON audit (target, at DESC);
