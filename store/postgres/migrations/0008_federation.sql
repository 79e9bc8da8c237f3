-- The identity-provider side (issue 11), the PostgreSQL twin of
-- store/sqlite's 0009_federation.sql. NULL times are the zero time.Time.

-- Access and refresh tokens issued to apps; id is the SHA-256 of the
-- token's secret part. A refresh token is rotated once (used_at set) and
-- a second use revokes its family. They go with their user; session_id
-- is no foreign key (a sign-out reads them after the session is gone).
CREATE TABLE oauth_tokens (
    id         text        PRIMARY KEY,
    kind       text        NOT NULL,
    family_id  text        NOT NULL DEFAULT '',
    client_id  text        NOT NULL,
    user_id    text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id text        NOT NULL DEFAULT '',
    scopes     text[]      NOT NULL DEFAULT '{}',
    audience   text[]      NOT NULL DEFAULT '{}',
    amr        text[]      NOT NULL DEFAULT '{}',
    auth_time  timestamptz NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz NULL,
    data       bytea       NULL
);
CREATE INDEX oauth_tokens_family ON oauth_tokens (family_id);
CREATE INDEX oauth_tokens_user ON oauth_tokens (user_id, client_id);
CREATE INDEX oauth_tokens_session ON oauth_tokens (session_id);
CREATE INDEX oauth_tokens_expires ON oauth_tokens (expires_at);

-- The apps each session signed in to, for back-channel and single logout;
-- kept past the session's deletion until swept.
CREATE TABLE session_clients (
    session_id text        NOT NULL,
    protocol   text        NOT NULL,
    client_id  text        NOT NULL,
    user_id    text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    data       bytea       NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (session_id, protocol, client_id)
);
CREATE INDEX session_clients_expires ON session_clients (expires_at);
