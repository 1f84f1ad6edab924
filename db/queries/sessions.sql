-- name: CreateSession :exec
INSERT INTO sessions (id, user_id, created_at, revoked_at)
VALUES (@id, @user_id, @created_at, @revoked_at);

-- name: InsertRefreshToken :exec
INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at)
VALUES (@token_hash, @session_id, @issued_at, @expires_at);

-- SpendRefreshToken is the atomic heart of rotation: it spends the token only
-- if it is live (unspent, unexpired, session not revoked). Two concurrent
-- calls serialize on the row lock; under READ COMMITTED the second re-checks
-- the row, sees spent_at set and gets no row back.
-- name: SpendRefreshToken :one
UPDATE refresh_tokens AS rt
SET spent_at = sqlc.arg(now)::timestamptz
FROM sessions AS s
WHERE rt.token_hash = sqlc.arg(token_hash)
  AND s.id = rt.session_id
  AND rt.spent_at IS NULL
  AND rt.expires_at > sqlc.arg(now)::timestamptz
  AND s.revoked_at IS NULL
RETURNING s.id, s.user_id, s.created_at, s.revoked_at;

-- RefreshTokenState explains why SpendRefreshToken returned no row.
-- name: RefreshTokenState :one
SELECT rt.session_id, rt.expires_at, rt.spent_at, s.revoked_at
FROM refresh_tokens AS rt
JOIN sessions AS s ON s.id = rt.session_id
WHERE rt.token_hash = @token_hash;

-- coalesce keeps the first revocation time: revoking is idempotent.
-- name: RevokeSession :exec
UPDATE sessions
SET revoked_at = coalesce(revoked_at, sqlc.arg(now)::timestamptz)
WHERE id = sqlc.arg(id);

-- name: RevokeSessionByRefreshToken :exec
UPDATE sessions
SET revoked_at = coalesce(revoked_at, sqlc.arg(now)::timestamptz)
WHERE id = (SELECT rt.session_id FROM refresh_tokens AS rt WHERE rt.token_hash = sqlc.arg(token_hash));

-- name: SessionByID :one
SELECT id, user_id, created_at, revoked_at
FROM sessions
WHERE id = @id;
