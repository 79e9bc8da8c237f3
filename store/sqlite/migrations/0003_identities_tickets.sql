-- Identity links and one-time tickets. Times are INTEGER unix milliseconds
-- in UTC; NULL is the zero time.Time.

-- An identity at a provider (provider_id, subject) belongs to at most one
-- user; a user may have several. Links go with their user.
CREATE TABLE identity_links (
    provider_id  TEXT    NOT NULL,
    subject      TEXT    NOT NULL,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email        TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER,
    last_used_at INTEGER,
    PRIMARY KEY (provider_id, subject)
);

CREATE INDEX identity_links_user_id ON identity_links (user_id, created_at);

-- id is the SHA-256 (hex) of the secret. user_id is deliberately not a
-- foreign key: a ticket may precede its user (an invitation) or outlive it;
-- NULL means none. A NULL expires_at counts as expired.
CREATE TABLE tickets (
    id         TEXT    PRIMARY KEY,
    purpose    TEXT    NOT NULL,
    user_id    TEXT    NULL,
    data       BLOB    NULL,
    created_at INTEGER,
    expires_at INTEGER
);

CREATE INDEX tickets_expires_at ON tickets (expires_at);
