-- The account lifecycle by mail (issue 8). Times are INTEGER unix
-- milliseconds in UTC; NULL is the zero time.Time.

-- The person's portal language, the language of their mails; and whether
-- they must change the password they were handed before anything else.
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;

-- The transactional outbox: a message is written in the same transaction
-- as the change that causes it and sent later by a worker. A worker owns a
-- message while lease_until is in the future; data (sealed, it holds
-- one-time links) is dropped once the message is sent or given up.
-- user_id is deliberately not a foreign key: the record of a mail sent
-- outlives its user, and a test mail has none ('').
CREATE TABLE outbox (
    id              TEXT    PRIMARY KEY,
    channel         TEXT    NOT NULL,
    template        TEXT    NOT NULL,
    recipient       TEXT    NOT NULL,
    language        TEXT    NOT NULL DEFAULT '',
    user_id         TEXT    NOT NULL DEFAULT '',
    data            BLOB    NULL,
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    lease_owner     TEXT    NULL,
    lease_until     INTEGER NULL,
    sent_at         INTEGER NULL,
    gave_up_at      INTEGER NULL
);

-- What the worker claims: pending messages by due time.
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL AND gave_up_at IS NULL;
CREATE INDEX outbox_created_at ON outbox (created_at);
CREATE INDEX outbox_user_id ON outbox (user_id, created_at);

-- Consecutive wrong passwords per (user, device cookie); device '' is
-- every browser without a device cookie. They go with their user.
CREATE TABLE failure_counts (
    user_id TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device  TEXT    NOT NULL,
    count   INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, device)
);

-- Fixed-window counters for throttling, one row per key: the window
-- [started_at, ends_at) and the hits within it.
CREATE TABLE hit_windows (
    key        TEXT    PRIMARY KEY,
    count      INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    ends_at    INTEGER NOT NULL
);

CREATE INDEX hit_windows_ends_at ON hit_windows (ends_at);
