-- Keys that sign identity assertions. Times are INTEGER unix milliseconds in
-- UTC; NULL is the zero time.Time (retired_at stays NULL while the key may
-- sign). private is sealed by the gateway before it reaches the store.

CREATE TABLE signing_keys (
    id         TEXT    PRIMARY KEY,
    algorithm  TEXT    NOT NULL,
    private    BLOB    NOT NULL,
    public     BLOB    NOT NULL,
    created_at INTEGER,
    active_at  INTEGER,
    retired_at INTEGER NULL
);

CREATE INDEX signing_keys_active_at ON signing_keys (active_at, id);
