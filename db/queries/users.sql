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

-- The port passes no clock here, so updated_at is the database's time.
-- name: UpdatePasswordHash :execrows
UPDATE users
SET password_hash = @password_hash, updated_at = statement_timestamp()
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
SELECT id, email, name, role, password_hash, created_at
FROM users
WHERE (sqlc.narg(after)::uuid IS NULL OR id > sqlc.narg(after)::uuid)
  AND strpos(lower(email), lower(sqlc.arg(email_contains)::text)) > 0
ORDER BY id
LIMIT sqlc.arg(max_rows)::integer;
