-- Email tokens, in SQLite's dialect: see db/queries/email.sql. Using a
-- token is one DELETE ... RETURNING on the writer: writers are serial, so
-- exactly one of concurrent uses gets the row.

-- name: CreateEmailToken :exec
INSERT INTO email_tokens (hash, user_id, purpose, email, email_key, created_at, expires_at)
VALUES (sqlc.arg(hash), sqlc.arg(user_id), sqlc.arg(purpose), sqlc.arg(email), sqlc.arg(email_key),
        sqlc.arg(created_at), sqlc.arg(expires_at));

-- name: EmailToken :one
SELECT hash, user_id, purpose, email, email_key, created_at, expires_at
FROM email_tokens
WHERE hash = sqlc.arg(hash);

-- name: UseEmailToken :one
DELETE FROM email_tokens
WHERE hash = sqlc.arg(hash)
RETURNING hash, user_id, purpose, email, email_key, created_at, expires_at;

-- name: DeleteEmailTokens :execrows
DELETE FROM email_tokens
WHERE user_id = sqlc.arg(user_id)
  AND (purpose = sqlc.arg(purpose) OR sqlc.arg(purpose) = '');
