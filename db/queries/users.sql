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
