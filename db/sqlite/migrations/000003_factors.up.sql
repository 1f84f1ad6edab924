-- authd's SQLite schema, version 3: second factors (TOTP, recovery codes,
-- login challenges) and passkeys with their ceremonies, in SQLite's types
-- and conventions (see 000001): times INTEGER microseconds, ids TEXT,
-- digests 32-byte BLOBs. A row for no such user violates its foreign key,
-- which adapters/sqlite reports as domain.ErrNotFound.

-- Set when a confirmed TOTP credential exists: ConfirmTOTP sets it and
-- DeleteTOTP clears it, in the same write transaction.
ALTER TABLE users ADD COLUMN mfa_enabled INTEGER NOT NULL DEFAULT 0 CHECK (mfa_enabled IN (0, 1));

-- One authenticator-app secret per user, sealed with the data key; pending
-- until confirmed. last_step is the RFC 6238 time step of the last code
-- accepted: a code of that step or an earlier one is refused.
CREATE TABLE totp_credentials (
    user_id       TEXT    NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    sealed_secret BLOB    NOT NULL,
    confirmed     INTEGER NOT NULL DEFAULT 0 CHECK (confirmed IN (0, 1)),
    created_at    INTEGER NOT NULL,
    last_step     INTEGER NOT NULL DEFAULT 0
) STRICT;

-- A user's unused recovery codes, by digest; a code used is deleted.
CREATE TABLE recovery_codes (
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  BLOB    NOT NULL CHECK (length(code_hash) = 32),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, code_hash)
) STRICT, WITHOUT ROWID;

-- Logins halfway: the password was right, a second factor is due.
-- methods is domain.FormatMethods of what was proved so far.
CREATE TABLE mfa_challenges (
    hash          BLOB    NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
    user_id       TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    methods       TEXT    NOT NULL,
    auth_at       INTEGER NOT NULL,
    password_hash TEXT    NOT NULL,
    expires_at    INTEGER NOT NULL,
    failures      INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0)
) STRICT;

CREATE INDEX mfa_challenges_expires_at_idx ON mfa_challenges (expires_at);
CREATE INDEX mfa_challenges_user_id_idx ON mfa_challenges (user_id);

-- WebAuthn credentials. A credential id is registered once, to anyone:
-- adapters/sqlite maps a violation of its unique index to
-- domain.ErrPasskeyExists by the column the error names. data is the
-- WebAuthn adapter's own record; last_used_at is NULL until a sign-in.
CREATE TABLE passkeys (
    id            TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    user_id       TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id BLOB    NOT NULL UNIQUE,
    name          TEXT    NOT NULL DEFAULT '',
    data          BLOB    NOT NULL,
    sign_count    INTEGER NOT NULL DEFAULT 0 CHECK (sign_count >= 0),
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
) STRICT;

CREATE INDEX passkeys_user_id_idx ON passkeys (user_id, created_at);

-- Passkey ceremonies begun and not yet finished. user_id is NULL for a
-- usernameless sign-in, mfa_token (the login challenge a second-factor
-- ceremony answers) NULL when there is none.
CREATE TABLE passkey_ceremonies (
    hash       BLOB    NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
    kind       TEXT    NOT NULL CHECK (kind IN ('register', 'login', 'mfa')),
    user_id    TEXT    REFERENCES users (id) ON DELETE CASCADE,
    mfa_token  BLOB    CHECK (mfa_token IS NULL OR length(mfa_token) = 32),
    state      BLOB    NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX passkey_ceremonies_expires_at_idx ON passkey_ceremonies (expires_at);
CREATE INDEX passkey_ceremonies_user_id_idx ON passkey_ceremonies (user_id);
