-- The account lifecycle by mail (issue 8), the PostgreSQL twin of
-- store/sqlite's 0006_accounts.sql. NULL times are the zero time.Time.

-- The person's portal language, the language of their mails; and whether
-- they must change the password they were handed before anything else.
ALTER TABLE users ADD COLUMN language text NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN must_change_password boolean NOT NULL DEFAULT false;

-- The transactional outbox: a message is written in the same transaction
-- as the change that causes it and sent later by a worker. A worker owns a
-- message while lease_until is in the future; data (sealed, it holds
-- one-time links) is dropped once the message is sent or given up.
-- user_id is deliberately not a foreign key: the record of a mail sent
-- outlives its user, and a test mail has none ('').
CREATE TABLE outbox (
    id              text        PRIMARY KEY,
    channel         text        NOT NULL,
    template        text        NOT NULL,
    recipient       text        NOT NULL,
    language        text        NOT NULL DEFAULT '',
    user_id         text        NOT NULL DEFAULT '',
    data            bytea       NULL,
    created_at      timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text        NOT NULL DEFAULT '',
    lease_owner     text        NULL,
    lease_until     timestamptz NULL,
    sent_at         timestamptz NULL,
    gave_up_at      timestamptz NULL
);

-- What the workers claim: pending messages by due time.
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL AND gave_up_at IS NULL;
CREATE INDEX outbox_created_at ON outbox (created_at);
CREATE INDEX outbox_user_id ON outbox (user_id, created_at);

-- Consecutive wrong passwords per (user, device cookie); device '' is
-- every browser without a device cookie. They go with their user.
CREATE TABLE failure_counts (
    user_id text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device  text        NOT NULL,
    count   integer     NOT NULL,
    last_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, device)
);

-- Fixed-window counters for throttling, one row per key: the window
-- [started_at, ends_at) and the hits within it.
CREATE TABLE hit_windows (
    key        text        PRIMARY KEY,
    count      integer     NOT NULL,
    started_at timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL
);

CREATE INDEX hit_windows_ends_at ON hit_windows (ends_at);
