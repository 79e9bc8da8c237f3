-- The identity-provider side (issue 11). Times are INTEGER unix
-- milliseconds in UTC; NULL is the zero time.Time.

-- Access and refresh tokens issued to apps. id is the SHA-256 of the
-- token's secret part. A refresh token is rotated once (used_at set) and
-- a second use revokes its family. They go with their user; a sign-out
-- deletes its session's tokens explicitly (session_id is no foreign key:
-- the sign-out reads them after the session is gone).
CREATE TABLE oauth_tokens (
    id         TEXT    PRIMARY KEY,
    kind       TEXT    NOT NULL,
    family_id  TEXT    NOT NULL DEFAULT '',
    client_id  TEXT    NOT NULL,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id TEXT    NOT NULL DEFAULT '',
    scopes     TEXT    NOT NULL DEFAULT '[]',
    audience   TEXT    NOT NULL DEFAULT '[]',
    amr        TEXT    NOT NULL DEFAULT '[]',
    auth_time  INTEGER,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    data       BLOB
);
CREATE INDEX oauth_tokens_family ON oauth_tokens (family_id);
CREATE INDEX oauth_tokens_user ON oauth_tokens (user_id, client_id);
CREATE INDEX oauth_tokens_session ON oauth_tokens (session_id);
CREATE INDEX oauth_tokens_expires ON oauth_tokens (expires_at);

-- The apps each session signed in to, for back-channel and single
-- logout. Kept past the session's deletion until swept, so that the
-- sign-out that deleted it can still tell the apps.
CREATE TABLE session_clients (
    session_id TEXT    NOT NULL,
    protocol   TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    data       BLOB,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (session_id, protocol, client_id)
);
CREATE INDEX session_clients_expires ON session_clients (expires_at);
