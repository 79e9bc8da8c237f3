-- The administrator's half (issue 10), the PostgreSQL twin of
-- store/sqlite's 0008_admin.sql. NULL times are the zero time.Time.

-- The user listing pages by keyset (see SearchUsers): each order has an
-- index that the next page seeks into, so a page costs the same at the
-- first user and at the 100,000th. Emails sort bytewise (COLLATE "C"),
-- as ListUsers does; the last sign-in order puts never-signed-in users
-- (NULL) below every time, so the index holds the query's expression.
CREATE INDEX users_email_c ON users (email COLLATE "C", id COLLATE "C");
CREATE INDEX users_last_login ON users ((coalesce(last_login_at, '-infinity'::timestamptz)), id COLLATE "C");
CREATE INDEX users_status_email ON users (status, email COLLATE "C", id COLLATE "C");
-- The group filter: groups @> ARRAY[g].
CREATE INDEX users_groups ON users USING gin (groups);

-- SearchUsers' Text filter, case-insensitive, reads two columns kept
-- lower-cased by a trigger instead of lower-casing three columns and the
-- groups of every user at every search: with 100,000 users that took
-- the page from 0.6 s to tens of milliseconds. search is the email,
-- display name and department; search_groups the groups, each between
-- unit separators (U+001F) so that a whole group name is a substring.
ALTER TABLE users ADD COLUMN search text NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN search_groups text NOT NULL DEFAULT '';

CREATE FUNCTION users_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search := lower(NEW.email || E'\n' || NEW.display_name || E'\n' || NEW.department);
    NEW.search_groups := lower(E'\x1f' || array_to_string(NEW.groups, E'\x1f') || E'\x1f');
    RETURN NEW;
END
$$;

CREATE TRIGGER users_search BEFORE INSERT OR UPDATE OF email, display_name, department, groups ON users
    FOR EACH ROW EXECUTE FUNCTION users_search();

-- The users there already: an update of email fires the trigger.
UPDATE users SET email = email;

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
    key        text        PRIMARY KEY,
    value      text        NOT NULL,
    updated_by text        NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL
);

-- Browsers an administrator approved for a user (device approval): id is
-- the SHA-256 (hex) of the cookie's token. They go with their user;
-- approved_by is the administrator's user id, not a foreign key.
CREATE TABLE approved_devices (
    id           text        PRIMARY KEY,
    user_id      text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_agent   text        NOT NULL DEFAULT '',
    client_ip    text        NOT NULL DEFAULT '',
    approved_by  text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz NOT NULL
);

CREATE INDEX approved_devices_user_id ON approved_devices (user_id, last_used_at);
