-- One row that Ping rewrites: committing it proves the database can still
-- write (a full disk or a read-only file fails the commit), which a read
-- alone would not notice.
CREATE TABLE health (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at INTEGER NOT NULL
);
