-- Email tokens: only the digest of a token (and its purpose) is stored.
-- Using a token deletes it: one DELETE ... RETURNING, so of concurrent
-- uses exactly one gets the row (the others wait for its lock and then
-- find it gone).

-- name: CreateEmailToken :exec
INSERT INTO email_tokens (hash, user_id, purpose, email, email_key, created_at, expires_at)
VALUES (@hash, @user_id, @purpose, @email, @email_key, @created_at, @expires_at);

-- name: EmailToken :one
SELECT hash, user_id, purpose, email, email_key, created_at, expires_at
FROM email_tokens
WHERE hash = @hash;

-- name: UseEmailToken :one
DELETE FROM email_tokens
WHERE hash = @hash
RETURNING hash, user_id, purpose, email, email_key, created_at, expires_at;

-- DeleteEmailTokens deletes the user's tokens of purpose, or of every
-- purpose when purpose is empty.
-- name: DeleteEmailTokens :execrows
DELETE FROM email_tokens
WHERE user_id = @user_id
  AND (sqlc.arg(purpose)::text = '' OR purpose = sqlc.arg(purpose)::text);
