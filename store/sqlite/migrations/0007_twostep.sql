-- 2-step verification (issue 9). Times are INTEGER unix milliseconds in
-- UTC; NULL is the zero time.Time.

-- A second factor a user registered: an authenticator app, a phone, a
-- passkey or security key. handle finds a factor without its user (a
-- WebAuthn credential id) and is unique per kind when set; '' is none.
-- secret is sealed by the gateway before it reaches the store. counter is
-- the TOTP step last accepted or a WebAuthn signature count. Factors go
-- with their user.
CREATE TABLE factors (
    id           TEXT    PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL,
    name         TEXT    NOT NULL DEFAULT '',
    handle       TEXT    NOT NULL DEFAULT '',
    target       TEXT    NOT NULL DEFAULT '',
    secret       BLOB    NOT NULL,
    counter      INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NULL
);

CREATE UNIQUE INDEX factors_kind_handle ON factors (kind, handle) WHERE handle <> '';
CREATE INDEX factors_user_id ON factors (user_id, created_at);

-- Unused recovery codes: the SHA-256 (hex) of each normalised code. A used
-- code is deleted. They go with their user.
CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash    TEXT NOT NULL,
    PRIMARY KEY (user_id, hash)
);

-- Browsers that skip the second step while used at least every
-- remember_browser: id is the SHA-256 (hex) of the cookie's token. A NULL
-- expires_at counts as expired. They go with their user.
CREATE TABLE remembered_browsers (
    id           TEXT    PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_agent   TEXT    NOT NULL DEFAULT '',
    client_ip    TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER,
    last_used_at INTEGER,
    expires_at   INTEGER
);

CREATE INDEX remembered_browsers_expires_at ON remembered_browsers (expires_at);
CREATE INDEX remembered_browsers_user_id ON remembered_browsers (user_id, last_used_at);
