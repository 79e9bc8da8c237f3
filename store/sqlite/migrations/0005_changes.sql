-- Changes that every process sharing the file must not serve stale (see
-- store.ChangeFeed): a row is written in the same transaction as the
-- revocation it reports, and each process's watcher reads the rows after
-- the last one it saw. Rows older than an hour are pruned.
CREATE TABLE changes (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT    NOT NULL,
    id   TEXT    NOT NULL DEFAULT '',
    at   INTEGER NOT NULL
);
CREATE INDEX changes_at ON changes (at);
