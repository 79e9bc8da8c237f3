-- The administrator's half (issue 10). Times are INTEGER unix
-- milliseconds in UTC; NULL is the zero time.Time.

-- The user listing pages by keyset (see SearchUsers): each order has an
-- index that the next page seeks into, so a page costs the same at the
-- first user and at the 100,000th. email's UNIQUE index serves the
-- default order; the last sign-in order sorts never-signed-in users (NULL)
-- below every time, so the index holds the same expression the query does.
CREATE INDEX users_last_login ON users (ifnull(last_login_at, -9223372036854775808), id);
CREATE INDEX users_status_email ON users (status, email);

-- Pending tickets by purpose (invitations) and a user's tickets (deleted
-- with the user, or when an invitation is revoked).
CREATE INDEX tickets_purpose_created_at ON tickets (purpose, created_at);
CREATE INDEX tickets_user_id ON tickets (user_id, purpose);

-- The audit console's filters by client address and outcome.
CREATE INDEX audit_events_client_ip_time ON audit_events (client_ip, time);
CREATE INDEX audit_events_outcome_time ON audit_events (outcome, time);

-- Organisation settings changed in the admin console; the YAML gives the
-- defaults of those not stored. updated_by is the administrator's user
-- id, deliberately not a foreign key: the record outlives its author.
CREATE TABLE settings (
    key        TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_by TEXT    NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL
);

-- Browsers an administrator approved for a user (device approval): id is
-- the SHA-256 (hex) of the cookie's token. They go with their user;
-- approved_by is the administrator's user id, not a foreign key.
CREATE TABLE approved_devices (
    id           TEXT    PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_agent   TEXT    NOT NULL DEFAULT '',
    client_ip    TEXT    NOT NULL DEFAULT '',
    approved_by  TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL
);

CREATE INDEX approved_devices_user_id ON approved_devices (user_id, last_used_at);
