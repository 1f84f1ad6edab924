-- authd schema, version 1: accounts, login sessions and their refresh-token families.
BEGIN;

CREATE TABLE users (
    id            uuid        PRIMARY KEY,
    email         text        NOT NULL,
    name          text        NOT NULL DEFAULT '',
    role          text        NOT NULL CONSTRAINT users_role_check CHECK (role IN ('user', 'admin')),
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

-- Email uniqueness is case-insensitive and enforced here, not by a
-- read-then-write in the application. adapters/postgres maps a violation of
-- this index, by name, to domain.ErrEmailTaken.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

CREATE TABLE sessions (
    id         uuid        PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz NULL
);

CREATE INDEX sessions_user_id_idx ON sessions (user_id);

-- Only the SHA-256 digest of a refresh token is stored, never the token.
CREATE TABLE refresh_tokens (
    token_hash bytea       PRIMARY KEY CONSTRAINT refresh_tokens_token_hash_length CHECK (length(token_hash) = 32),
    session_id uuid        NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    issued_at  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    spent_at   timestamptz NULL
);

CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);

COMMIT;
