-- authd's SQLite schema, version 1: the Postgres schema at its version 5
-- (db/migrations), in SQLite's types. SQLite starts at today's schema.
--
-- Times are INTEGER microseconds since the Unix epoch, UTC: exact, ordered
-- as numbers, and the microsecond resolution the store contract uses (that
-- of Postgres timestamptz). Ids are canonical lower-case UUID strings
-- (TEXT): as strings they sort in the byte order of a uuid column, so
-- keyset pages walk in the same order on both stores. Digests are 32-byte
-- BLOBs. Tables are STRICT, so a value of the wrong type is refused rather
-- than stored as it came. adapters/sqlite turns foreign keys on for every
-- connection.
--
-- golang-migrate runs this file in a transaction of its own (the sqlite
-- driver wraps each migration), so it has no BEGIN/COMMIT.

CREATE TABLE users (
    id             TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    email          TEXT    NOT NULL,
    -- The canonical form of the address (domain.Email.Key): the account's
    -- identity. adapters/sqlite maps a violation of its unique index to
    -- domain.ErrEmailTaken by the column the error names.
    email_key      TEXT    NOT NULL,
    email_verified INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1)),
    name           TEXT    NOT NULL DEFAULT '',
    role           TEXT    NOT NULL CHECK (role IN ('user', 'admin')),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX users_email_key ON users (email_key);

-- One password per user at most: the primary key is the user. A password
-- for no such user violates the foreign key, which adapters/sqlite reports
-- as domain.ErrNotFound (SetPassword is the only statement that can).
CREATE TABLE password_credentials (
    user_id    TEXT    NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    hash       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- amr holds the RFC 8176 values of the factors the login proved, joined by
-- commas (domain.FormatMethods).
CREATE TABLE sessions (
    id           TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    revoked_at   INTEGER,
    ip           TEXT    NOT NULL DEFAULT '' CHECK (length(CAST(ip AS BLOB)) <= 64),
    user_agent   TEXT    NOT NULL DEFAULT '' CHECK (length(CAST(user_agent AS BLOB)) <= 256),
    amr          TEXT    NOT NULL DEFAULT 'pwd'
) STRICT;

-- The session list reads a user's sessions newest first.
CREATE INDEX sessions_user_id_created_at_idx ON sessions (user_id, created_at DESC, id DESC);

-- Only the SHA-256 digest of a refresh token is stored, never the token.
CREATE TABLE refresh_tokens (
    token_hash BLOB    NOT NULL PRIMARY KEY CHECK (length(token_hash) = 32),
    session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    spent_at   INTEGER
) STRICT;

CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);

-- One row per throttled email: email_key is the SHA-256 digest of the
-- normalized address (domain.ThrottleKeyFor), never the address. See
-- db/migrations/000002 for the rules; a successful login deletes the row.
CREATE TABLE login_throttle (
    email_key    BLOB    NOT NULL PRIMARY KEY CHECK (length(email_key) = 32),
    failures     INTEGER NOT NULL CHECK (failures > 0),
    window_start INTEGER NOT NULL,
    locked_until INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- The audit log is append-only: db/sqlite/queries has an INSERT and a
-- SELECT for it and no UPDATE or DELETE. user_id, session_id and actor_id
-- carry no foreign key on purpose: the trail must outlive the rows it
-- names. detail is one of the service's fixed phrases, never user input.
CREATE TABLE auth_events (
    id         TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    at         INTEGER NOT NULL,
    type       TEXT    NOT NULL CHECK (length(type) BETWEEN 1 AND 64 AND type NOT GLOB '*[^a-z_]*'),
    user_id    TEXT,
    session_id TEXT,
    actor_id   TEXT,
    ip         TEXT    NOT NULL DEFAULT '' CHECK (length(CAST(ip AS BLOB)) <= 64),
    user_agent TEXT    NOT NULL DEFAULT '' CHECK (length(CAST(user_agent AS BLOB)) <= 256),
    detail     TEXT    NOT NULL DEFAULT ''
) STRICT;

-- Pages are keyset walks in (at, id) order, newest first; per user too.
CREATE INDEX auth_events_at_id_idx ON auth_events (at, id);
CREATE INDEX auth_events_user_id_at_id_idx ON auth_events (user_id, at, id) WHERE user_id IS NOT NULL;
