-- One row that Ping rewrites: committing it proves the database can still
-- write (a read-only server or a full disk fails the commit), which a read
-- alone would not notice.
CREATE TABLE health (
    id         integer     PRIMARY KEY CHECK (id = 1),
    checked_at timestamptz NOT NULL
);
