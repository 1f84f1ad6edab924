-- name: CreateUser :exec
INSERT INTO users (id, email, name, role, password_hash, created_at, updated_at)
VALUES (@id, @email, @name, @role, @password_hash, @created_at, @created_at);

-- lower(email) matches the unique index users_email_lower_key, so this is an index lookup.
-- name: UserByEmail :one
SELECT id, email, name, role, password_hash, created_at
FROM users
WHERE lower(email) = lower(@email);

-- name: UserByID :one
SELECT id, email, name, role, password_hash, created_at
FROM users
WHERE id = @id;

-- UpdatePasswordHash is a compare-and-swap: it writes new_hash only over
-- old_hash. Under READ COMMITTED an UPDATE that waited for a concurrent
-- change of the row re-checks the condition on the committed version, so a
-- rehash racing a password change finds no row instead of reverting it.
-- The port passes no clock here, so updated_at is the database's time.
-- name: UpdatePasswordHash :execrows
UPDATE users
SET password_hash = @new_hash, updated_at = statement_timestamp()
WHERE id = @id AND password_hash = @old_hash;

-- ChangePasswordHash is the compare-and-swap of a password change, run in
-- the transaction that then revokes the other sessions: the row lock it
-- takes is held until those are revoked (see LockUserWithHash).
-- name: ChangePasswordHash :execrows
UPDATE users
SET password_hash = @new_hash, updated_at = @now
WHERE id = @id AND password_hash = @old_hash;

-- UserExists tells an unknown user from a stale hash after a
-- compare-and-swap found no row.
-- name: UserExists :one
SELECT EXISTS (SELECT 1 FROM users WHERE id = @id);

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
SELECT id, email, name, role, password_hash, created_at
FROM users
WHERE (sqlc.narg(after)::uuid IS NULL OR id > sqlc.narg(after)::uuid)
  AND strpos(lower(email), lower(sqlc.arg(email_contains)::text)) > 0
ORDER BY id
LIMIT sqlc.arg(max_rows)::integer;
