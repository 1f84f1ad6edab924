-- Password credentials, one row per user that has a password. A write
-- transaction holds SQLite's one write lock from BEGIN IMMEDIATE to its
-- end, so nothing here needs a row lock: a credential a transaction read
-- stays as it read it until the transaction ends.

-- SetPassword gives a user a password or replaces theirs. A user that does
-- not exist violates the foreign key, which the adapter reports as not
-- found.
-- name: SetPassword :exec
INSERT INTO password_credentials (user_id, hash, created_at, updated_at)
VALUES (sqlc.arg(user_id), sqlc.arg(hash), sqlc.arg(now), sqlc.arg(now))
ON CONFLICT (user_id) DO UPDATE
SET hash = excluded.hash, updated_at = excluded.updated_at;

-- name: PasswordHash :one
SELECT hash FROM password_credentials WHERE user_id = sqlc.arg(user_id);

-- SwapPasswordHash is a compare-and-swap: it writes new_hash only over
-- old_hash. The adapter runs it in a write transaction with
-- HasPasswordCredential, which tells the two reasons for no swap apart.
-- name: SwapPasswordHash :execrows
UPDATE password_credentials
SET hash = sqlc.arg(new_hash), updated_at = sqlc.arg(now)
WHERE user_id = sqlc.arg(user_id) AND hash = sqlc.arg(old_hash);

-- name: HasPasswordCredential :one
SELECT EXISTS (SELECT 1 FROM password_credentials WHERE user_id = sqlc.arg(user_id)) AS has_credential;

-- HoldPassword checks that the user's hash still is the one the login
-- verified. Inside a transaction the write lock taken at BEGIN IMMEDIATE
-- keeps it so until the session is committed: a password change cannot
-- start in between.
-- name: HoldPassword :one
SELECT 1 AS held
FROM password_credentials
WHERE user_id = sqlc.arg(user_id) AND hash = sqlc.arg(hash);
