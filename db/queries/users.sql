-- Users are identities only: how a user proves who they are lives in the
-- credential tables (credentials.sql).

-- name: CreateUser :exec
INSERT INTO users (id, email, email_key, email_verified, name, role, created_at, updated_at)
VALUES (@id, @email, @email_key, @email_verified, @name, @role, @created_at, @created_at);

-- email_key is the account's identity (domain.Email.Key), unique.
-- name: UserByEmail :one
SELECT id, email, email_key, email_verified, name, role, created_at, mfa_enabled
FROM users
WHERE email_key = @email_key;

-- name: UserByID :one
SELECT id, email, email_key, email_verified, name, role, created_at, mfa_enabled
FROM users
WHERE id = @id;

-- name: SetRole :execrows
UPDATE users
SET role = @role, updated_at = @now
WHERE id = @id;

-- ListUsers is one page of a keyset walk in id order (UUIDv7: creation
-- order) over the primary key: no OFFSET, so a page costs the same wherever
-- it starts (the cursor is an index condition), and inserts between pages
-- neither repeat nor skip the rows already there.
-- strpos matches the needle as plain text, so the caller's % _ \ need no
-- escaping, as they would with LIKE; lower() on both sides makes it
-- case-insensitive. An empty needle matches every row.
-- name: ListUsers :many
SELECT id, email, email_key, email_verified, name, role, created_at, mfa_enabled
FROM users
WHERE (sqlc.narg(after)::uuid IS NULL OR id > sqlc.narg(after)::uuid)
  AND strpos(lower(email), lower(sqlc.arg(email_contains)::text)) > 0
ORDER BY id
LIMIT sqlc.arg(max_rows)::integer;

-- EmailsToCanonicalize lists the addresses whose key SQL cannot vouch
-- for, for the Go pass that runs after migration 5: any that is not a
-- plain ASCII address with a plain domain (letters, digits, inner hyphens,
-- a letter TLD, no "--" in a label's third and fourth place) goes to Go,
-- which computes its key or reports it refused by today's rules.
-- name: EmailsToCanonicalize :many
SELECT id, email, email_key
FROM users
WHERE lower(email) !~ '^[a-z0-9.!#$%&''*+/=?^_`{|}~-]+@([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}$'
   OR email ~ '[@.][^.@]{2}--'
ORDER BY id;

-- name: SetEmailKey :execrows
UPDATE users SET email_key = @email_key WHERE id = @id;

-- SetEmail moves the account to another address. The unique index on
-- email_key decides whether another account has it (a violation is
-- domain.ErrEmailTaken), so concurrent moves and registrations of one
-- address cannot both win.
-- name: SetEmail :execrows
UPDATE users
SET email = @email, email_key = @email_key, email_verified = @email_verified, updated_at = @now
WHERE id = @id;

-- name: MarkEmailVerified :execrows
UPDATE users
SET email_verified = true, updated_at = @now
WHERE id = @id;
