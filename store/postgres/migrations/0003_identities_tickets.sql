-- Identity links and one-time tickets. NULL times are the zero time.Time.

-- An identity at a provider (provider_id, subject) belongs to at most one
-- user; a user may have several. Links go with their user.
CREATE TABLE identity_links (
    provider_id  text        NOT NULL,
    subject      text        NOT NULL,
    user_id      text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email        text        NOT NULL DEFAULT '',
    created_at   timestamptz,
    last_used_at timestamptz,
    PRIMARY KEY (provider_id, subject)
);

CREATE INDEX identity_links_user_id ON identity_links (user_id, created_at);

-- id is the SHA-256 (hex) of the secret. user_id is deliberately not a
-- foreign key: a ticket may precede its user (an invitation) or outlive it;
-- NULL means none. A NULL expires_at counts as expired.
CREATE TABLE tickets (
    id         text        PRIMARY KEY,
    purpose    text        NOT NULL,
    user_id    text        NULL,
    data       bytea       NULL,
    created_at timestamptz,
    expires_at timestamptz
);

CREATE INDEX tickets_expires_at ON tickets (expires_at);
