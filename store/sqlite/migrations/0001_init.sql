-- Initial schema. Times are INTEGER unix milliseconds in UTC; NULL is the
-- zero time.Time. Lists are JSON arrays in TEXT columns.

CREATE TABLE users (
    id                TEXT    PRIMARY KEY,
    -- Lower-cased by the store, so plain UNIQUE is case-insensitive.
    email             TEXT    NOT NULL UNIQUE,
    display_name      TEXT    NOT NULL DEFAULT '',
    phone             TEXT    NOT NULL DEFAULT '',
    mobile            TEXT    NOT NULL DEFAULT '',
    organization      TEXT    NOT NULL DEFAULT '',
    department        TEXT    NOT NULL DEFAULT '',
    groups            TEXT    NOT NULL DEFAULT '[]',
    role              TEXT    NOT NULL DEFAULT '',
    status            TEXT    NOT NULL DEFAULT '',
    login_methods     TEXT    NOT NULL DEFAULT '[]',
    created_at        INTEGER,
    updated_at        INTEGER,
    last_login_at     INTEGER,
    previous_login_at INTEGER
);

CREATE TABLE passwords (
    user_id    TEXT    PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    hash       TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE sessions (
    id                  TEXT    PRIMARY KEY,
    user_id             TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    amr                 TEXT    NOT NULL DEFAULT '[]',
    auth_time           INTEGER,
    client_ip           TEXT    NOT NULL DEFAULT '',
    user_agent          TEXT    NOT NULL DEFAULT '',
    line                TEXT    NOT NULL DEFAULT '',
    created_at          INTEGER,
    last_seen_at        INTEGER,
    idle_expires_at     INTEGER,
    absolute_expires_at INTEGER
);

CREATE INDEX sessions_user_id ON sessions (user_id, created_at);
CREATE INDEX sessions_idle_expires_at ON sessions (idle_expires_at);
CREATE INDEX sessions_absolute_expires_at ON sessions (absolute_expires_at);

-- user_id is deliberately not a foreign key: the audit trail outlives users
-- and records failed sign-ins for unknown emails.
CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    time       INTEGER NOT NULL,
    action     TEXT    NOT NULL,
    user_id    TEXT    NOT NULL DEFAULT '',
    actor      TEXT    NOT NULL DEFAULT '',
    client_ip  TEXT    NOT NULL DEFAULT '',
    outcome    TEXT    NOT NULL DEFAULT '',
    detail     TEXT    NOT NULL DEFAULT '',
    request_id TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX audit_events_time ON audit_events (time);
CREATE INDEX audit_events_user_id_time ON audit_events (user_id, time);
CREATE INDEX audit_events_action_time ON audit_events (action, time);

CREATE TABLE secrets (
    name       TEXT    PRIMARY KEY,
    value      BLOB    NOT NULL,
    created_at INTEGER NOT NULL
);
