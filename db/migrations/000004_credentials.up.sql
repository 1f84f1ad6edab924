-- authd schema, version 4: a user is an identity, not a way to prove it.
-- The password moves to a table of its own, so an account may exist
-- without one and the next kinds of credential (one-time-password secrets,
-- passkeys) have a place next to it rather than more columns on users.
-- Sessions remember how their login was proven (the "amr" of their
-- tokens), and users whether their email address was proven theirs.
BEGIN;

-- One password per user at most: the primary key is the user. The foreign
-- key is named because adapters/postgres maps its violation, by name, to
-- domain.ErrNotFound (a password for no such user). ON DELETE CASCADE: a
-- credential means nothing without its user.
CREATE TABLE password_credentials (
    user_id    uuid        PRIMARY KEY
        CONSTRAINT password_credentials_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    hash       text        NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

-- Every account of version 3 registered with a password, so the credential
-- dates from the account; users.updated_at is the newest change of any
-- kind (a role change too), which is the best bound version 3 kept on the
-- last password change. An empty hash was never written by authd (it is
-- what the down migration gives an account without a password), so it
-- makes no credential: down then up is the identity.
INSERT INTO password_credentials (user_id, hash, created_at, updated_at)
SELECT id, password_hash, created_at, updated_at
FROM users
WHERE password_hash <> '';

ALTER TABLE users DROP COLUMN password_hash;

-- No address has been proven so far. A constant default makes both ADD
-- COLUMNs catalogue changes only: neither table is rewritten.
ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT false;

-- amr holds the RFC 8176 values of the factors the login proved, joined by
-- commas (domain.FormatMethods). Until now a password was the only way in,
-- so every existing session gets 'pwd'; the adapter always writes the
-- column, so the default serves the backfill only.
ALTER TABLE sessions ADD COLUMN amr text NOT NULL DEFAULT 'pwd';

COMMIT;
