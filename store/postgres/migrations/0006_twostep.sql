-- 2-step verification (issue 9), the PostgreSQL twin of store/sqlite's
-- 0007_twostep.sql. NULL times are the zero time.Time.

-- A second factor a user registered: an authenticator app, a phone, a
-- passkey or security key. handle finds a factor without its user (a
-- WebAuthn credential id) and is unique per kind when set; '' is none.
-- secret is sealed by the gateway before it reaches the store. counter is
-- the TOTP step last accepted or a WebAuthn signature count. Factors go
-- with their user.
CREATE TABLE factors (
    id           text        PRIMARY KEY,
    user_id      text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         text        NOT NULL,
    name         text        NOT NULL DEFAULT '',
    handle       text        NOT NULL DEFAULT '',
    target       text        NOT NULL DEFAULT '',
    secret       bytea       NOT NULL,
    counter      bigint      NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz NULL
);

CREATE UNIQUE INDEX factors_kind_handle ON factors (kind, handle) WHERE handle <> '';
CREATE INDEX factors_user_id ON factors (user_id, created_at);

-- Unused recovery codes: the SHA-256 (hex) of each normalised code. A used
-- code is deleted. They go with their user.
CREATE TABLE recovery_codes (
    user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash    text NOT NULL,
    PRIMARY KEY (user_id, hash)
);

-- Browsers that skip the second step while used at least every
-- remember_browser: id is the SHA-256 (hex) of the cookie's token. A NULL
-- expires_at counts as expired. They go with their user.
CREATE TABLE remembered_browsers (
    id           text        PRIMARY KEY,
    user_id      text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_agent   text        NOT NULL DEFAULT '',
    client_ip    text        NOT NULL DEFAULT '',
    created_at   timestamptz,
    last_used_at timestamptz,
    expires_at   timestamptz
);

CREATE INDEX remembered_browsers_expires_at ON remembered_browsers (expires_at);
CREATE INDEX remembered_browsers_user_id ON remembered_browsers (user_id, last_used_at);
