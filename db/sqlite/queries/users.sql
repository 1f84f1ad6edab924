-- Users are identities only: how a user proves who they are lives in the
-- credential table (credentials.sql). Times are microseconds since the
-- epoch (see the migration).

-- name: CreateUser :exec
INSERT INTO users (id, email, email_key, email_verified, name, role, created_at, updated_at)
VALUES (sqlc.arg(id), sqlc.arg(email), sqlc.arg(email_key), sqlc.arg(email_verified), sqlc.arg(name), sqlc.arg(role),
        sqlc.arg(created_at), sqlc.arg(created_at));

-- email_key is the account's identity (domain.Email.Key), unique.
-- name: UserByEmail :one
SELECT id, email, email_key, email_verified, name, role, created_at, mfa_enabled
FROM users
WHERE email_key = sqlc.arg(email_key);

-- name: UserByID :one
SELECT id, email, email_key, email_verified, name, role, created_at, mfa_enabled
FROM users
WHERE id = sqlc.arg(id);

-- name: SetRole :execrows
UPDATE users
SET role = sqlc.arg(role), updated_at = sqlc.arg(now)
WHERE id = sqlc.arg(id);

-- ListUsers is one page of a keyset walk in id order (UUIDv7 strings:
-- creation order) over the primary key. instr matches the needle as plain
-- text, so % _ \ need no escaping; lower() on both sides makes it
-- case-insensitive (SQLite's lower() folds ASCII letters only). An empty
-- needle matches every row. after is '' for the first page: every id sorts
-- after it.
-- name: ListUsers :many
SELECT id, email, email_key, email_verified, name, role, created_at, mfa_enabled
FROM users
WHERE id > sqlc.arg(after)
  AND instr(lower(email), lower(sqlc.arg(email_contains))) > 0
ORDER BY id
LIMIT sqlc.arg(max_rows);

-- SetEmail moves the account to another address; the unique index on
-- email_key decides whether another account has it (domain.ErrEmailTaken).
-- name: SetEmail :execrows
UPDATE users
SET email = sqlc.arg(email), email_key = sqlc.arg(email_key), email_verified = sqlc.arg(email_verified), updated_at = sqlc.arg(now)
WHERE id = sqlc.arg(id);

-- name: MarkEmailVerified :execrows
UPDATE users
SET email_verified = 1, updated_at = sqlc.arg(now)
WHERE id = sqlc.arg(id);
