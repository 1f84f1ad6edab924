-- authd schema, version 2: sessions as first-class objects (last use and
-- client, for the idle timeout and the session list), the account
-- brute-force throttle, and the audit log.
BEGIN;

-- last_used_at is the login, then the latest refresh; rows from version 1
-- start from their creation. (The backfill rewrites the table once.)
ALTER TABLE sessions
    ADD COLUMN last_used_at timestamptz NULL,
    ADD COLUMN user_agent   text        NOT NULL DEFAULT ''
        CONSTRAINT sessions_user_agent_length CHECK (octet_length(user_agent) <= 256),
    ADD COLUMN ip           text        NOT NULL DEFAULT ''
        CONSTRAINT sessions_ip_length CHECK (octet_length(ip) <= 64);
UPDATE sessions SET last_used_at = created_at;
ALTER TABLE sessions ALTER COLUMN last_used_at SET NOT NULL;

-- The session list reads a user's sessions newest first.
CREATE INDEX sessions_user_id_created_at_idx ON sessions (user_id, created_at DESC, id DESC);
DROP INDEX sessions_user_id_idx;

-- One row per throttled email: email_key is the SHA-256 digest of the
-- normalized address (domain.ThrottleKeyFor), never the address, and an
-- email no account has gets a row like any other, so a refusal says
-- nothing about which accounts exist. failures counts the attempts of the
-- window that began at window_start (an attempt is counted when it is
-- admitted, before the password is checked); locked_until refuses every
-- attempt before it. A successful login deletes the row.
CREATE TABLE login_throttle (
    email_key    bytea       PRIMARY KEY CONSTRAINT login_throttle_email_key_length CHECK (length(email_key) = 32),
    failures     integer     NOT NULL CONSTRAINT login_throttle_failures_positive CHECK (failures > 0),
    window_start timestamptz NOT NULL,
    locked_until timestamptz NOT NULL
);

-- The audit log is append-only: db/queries has an INSERT and SELECTs for
-- it and no UPDATE or DELETE, so the service cannot change history (retention
-- is an operator's DELETE by hand, by age). user_id and session_id carry no
-- foreign key on purpose: the trail must outlive the rows it names, and an
-- ON DELETE CASCADE from users would erase it. detail is one of the service's
-- fixed phrases, never user input, a password, a token or a hash.
CREATE TABLE auth_events (
    id         uuid        PRIMARY KEY,
    at         timestamptz NOT NULL,
    type       text        NOT NULL CONSTRAINT auth_events_type_format CHECK (type ~ '^[a-z_]{1,64}$'),
    user_id    uuid        NULL,
    session_id uuid        NULL,
    ip         text        NOT NULL DEFAULT '' CONSTRAINT auth_events_ip_length CHECK (octet_length(ip) <= 64),
    user_agent text        NOT NULL DEFAULT '' CONSTRAINT auth_events_user_agent_length CHECK (octet_length(user_agent) <= 256),
    detail     text        NOT NULL DEFAULT ''
);

-- Pages are keyset walks in (at, id) order, newest first; per user too.
CREATE INDEX auth_events_at_id_idx ON auth_events (at, id);
CREATE INDEX auth_events_user_id_at_id_idx ON auth_events (user_id, at, id) WHERE user_id IS NOT NULL;

COMMIT;
