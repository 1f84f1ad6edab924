-- authd's SQLite schema, version 2: email tokens, the mail outbox and the
-- mail caps; the Postgres schema's version 6 (db/migrations/000006, which
-- says what they are for), in SQLite's types and conventions (see
-- 000001): times INTEGER microseconds, ids TEXT, digests 32-byte BLOBs.

-- email is the address as typed, email_key its canonical form. A token for
-- no such user violates the foreign key, which adapters/sqlite reports as
-- domain.ErrNotFound.
CREATE TABLE email_tokens (
    hash       BLOB    NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT    NOT NULL CHECK (purpose IN ('verify_email', 'reset_password', 'change_email')),
    email      TEXT    NOT NULL,
    email_key  TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX email_tokens_user_id_purpose_idx ON email_tokens (user_id, purpose);
CREATE INDEX email_tokens_expires_at_idx ON email_tokens (expires_at);

-- Pending until sent_at or given_up_at is set (never both); link is empty
-- once the mail has ended.
CREATE TABLE mail_outbox (
    id              TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    kind            TEXT    NOT NULL CHECK (kind IN ('verify_email', 'reset_password', 'password_changed',
        'confirm_email_change', 'email_changed', 'factor_added', 'factor_removed')),
    recipient       TEXT    NOT NULL,
    link            TEXT    NOT NULL DEFAULT '',
    detail          TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    lease_until     INTEGER,
    sent_at         INTEGER,
    given_up_at     INTEGER,
    last_error      TEXT    NOT NULL DEFAULT '',
    CHECK (sent_at IS NULL OR given_up_at IS NULL),
    CHECK ((sent_at IS NULL AND given_up_at IS NULL) OR link = '')
) STRICT;

CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at, id)
    WHERE sent_at IS NULL AND given_up_at IS NULL;
CREATE INDEX mail_outbox_ended_idx ON mail_outbox (coalesce(sent_at, given_up_at))
    WHERE sent_at IS NOT NULL OR given_up_at IS NOT NULL;

CREATE TABLE mail_caps (
    key          BLOB    NOT NULL PRIMARY KEY CHECK (length(key) = 32),
    last_at      INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    count        INTEGER NOT NULL CHECK (count > 0)
) STRICT, WITHOUT ROWID;
