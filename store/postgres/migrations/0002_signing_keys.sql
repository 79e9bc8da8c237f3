-- Keys that sign identity assertions; retired_at stays NULL while the key
-- may sign. private is sealed by the gateway before it reaches the store.

CREATE TABLE signing_keys (
    id         text        PRIMARY KEY,
    algorithm  text        NOT NULL,
    private    bytea       NOT NULL,
    public     bytea       NOT NULL,
    created_at timestamptz,
    active_at  timestamptz,
    retired_at timestamptz NULL
);

CREATE INDEX signing_keys_active_at ON signing_keys (active_at, id);
