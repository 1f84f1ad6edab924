-- authd schema, version 7: second factors (TOTP, recovery codes), login
-- challenges, passkeys and passkey ceremonies.
--
-- users.mfa_enabled mirrors a confirmed TOTP credential: set by the
-- statement that confirms it, cleared by the one that deletes it, so every
-- read of a user knows whether a second factor is due without a join.
-- Secrets are stored sealed (TOTP) or as digests (recovery codes, login
-- challenges, ceremonies), never in the clear. The foreign keys are named
-- because adapters/postgres maps their violation, by name, to
-- domain.ErrNotFound (no such user); ON DELETE CASCADE: none of these
-- means anything without its user.
BEGIN;

ALTER TABLE users ADD COLUMN mfa_enabled boolean NOT NULL DEFAULT false;

-- One authenticator-app credential per user, pending until confirmed.
-- last_step is the RFC 6238 time step of the last code accepted: a code of
-- that step or an earlier one is refused (one UPDATE ... WHERE last_step <
-- step decides, so of concurrent uses of one step exactly one wins).
CREATE TABLE totp_credentials (
    user_id       uuid        PRIMARY KEY
        CONSTRAINT totp_credentials_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    sealed_secret bytea       NOT NULL,
    confirmed     boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL,
    last_step     bigint      NOT NULL DEFAULT 0
);

-- A user's unused recovery codes, by digest; using one deletes its row.
CREATE TABLE recovery_codes (
    user_id    uuid        NOT NULL
        CONSTRAINT recovery_codes_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    code_hash  bytea       NOT NULL CONSTRAINT recovery_codes_hash_length CHECK (length(code_hash) = 32),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

-- Logins halfway (domain.MFAChallenge), by the digest of their token.
-- methods is domain.FormatMethods of what the first step proved.
CREATE TABLE mfa_challenges (
    hash          bytea       PRIMARY KEY CONSTRAINT mfa_challenges_hash_length CHECK (length(hash) = 32),
    user_id       uuid        NOT NULL
        CONSTRAINT mfa_challenges_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    methods       text        NOT NULL,
    auth_at       timestamptz NOT NULL,
    password_hash text        NOT NULL,
    expires_at    timestamptz NOT NULL,
    failures      integer     NOT NULL DEFAULT 0 CONSTRAINT mfa_challenges_failures_check CHECK (failures >= 0)
);

CREATE INDEX mfa_challenges_expires_at_idx ON mfa_challenges (expires_at);

-- WebAuthn credentials; data is the WebAuthn adapter's own record. A
-- credential id is registered once, to anyone (the unique constraint is
-- named: its violation is domain.ErrPasskeyExists).
CREATE TABLE passkeys (
    id            uuid        PRIMARY KEY,
    user_id       uuid        NOT NULL
        CONSTRAINT passkeys_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    credential_id bytea       NOT NULL CONSTRAINT passkeys_credential_id_key UNIQUE,
    name          text        NOT NULL,
    data          bytea       NOT NULL,
    sign_count    bigint      NOT NULL CONSTRAINT passkeys_sign_count_check CHECK (sign_count >= 0 AND sign_count <= 4294967295),
    created_at    timestamptz NOT NULL,
    last_used_at  timestamptz NULL
);

CREATE INDEX passkeys_user_id_idx ON passkeys (user_id);

-- Passkey ceremonies begun and not finished, by the digest of their
-- handle. user_id is NULL for usernameless sign-in; mfa_token is the
-- digest of the login challenge a second-factor ceremony answers, NULL
-- otherwise.
CREATE TABLE passkey_ceremonies (
    hash       bytea       PRIMARY KEY CONSTRAINT passkey_ceremonies_hash_length CHECK (length(hash) = 32),
    kind       text        NOT NULL
        CONSTRAINT passkey_ceremonies_kind_check CHECK (kind IN ('register', 'login', 'mfa')),
    user_id    uuid        NULL
        CONSTRAINT passkey_ceremonies_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    mfa_token  bytea       NULL CONSTRAINT passkey_ceremonies_mfa_token_length CHECK (length(mfa_token) = 32),
    state      bytea       NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE INDEX passkey_ceremonies_expires_at_idx ON passkey_ceremonies (expires_at);

COMMIT;
