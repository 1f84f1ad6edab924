-- name: CreateSession :exec
INSERT INTO sessions (id, user_id, created_at, revoked_at)
VALUES (@id, @user_id, @created_at, @revoked_at);

-- name: InsertRefreshToken :exec
INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at)
VALUES (@token_hash, @session_id, @issued_at, @expires_at);

-- RotateRefreshToken is the atomic heart of rotation, in one statement (one
-- round trip, one implicit transaction): it spends the presented token only
-- if it is live (unspent, unexpired, session not revoked), stores its
-- successor in the same session, and returns the session with its owner.
-- Two concurrent calls serialize on the token's row lock; under READ
-- COMMITTED the second re-checks the row, sees spent_at set and gets no row
-- back, and inserts nothing.
-- name: RotateRefreshToken :one
WITH spent AS (
    UPDATE refresh_tokens AS rt
    SET spent_at = sqlc.arg(now)::timestamptz
    FROM sessions AS s
    WHERE rt.token_hash = sqlc.arg(token_hash)
      AND s.id = rt.session_id
      AND rt.spent_at IS NULL
      AND rt.expires_at > sqlc.arg(now)::timestamptz
      AND s.revoked_at IS NULL
    RETURNING s.id, s.user_id, s.created_at, s.revoked_at
), successor AS (
    INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at)
    SELECT sqlc.arg(next_hash)::bytea, spent.id, sqlc.arg(now)::timestamptz, sqlc.arg(next_expires_at)::timestamptz
    FROM spent
    RETURNING session_id
)
SELECT spent.id, spent.user_id, spent.created_at, spent.revoked_at,
       u.email, u.name, u.role, u.password_hash, u.created_at AS user_created_at
FROM spent
JOIN successor ON successor.session_id = spent.id
JOIN users AS u ON u.id = spent.user_id;

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

-- SessionWithOwner reads a session and its user in one round trip: every
-- authenticated request that must see a logout at once makes this call.
-- name: SessionWithOwner :one
SELECT s.id, s.user_id, s.created_at, s.revoked_at,
       u.email, u.name, u.role, u.password_hash, u.created_at AS user_created_at
FROM sessions AS s
JOIN users AS u ON u.id = s.user_id
WHERE s.id = @id;

-- Only active sessions are touched, so the row count is how many this call
-- ended. Concurrent calls serialize on the row locks; under READ COMMITTED
-- the later one re-checks revoked_at, skips the row and does not count it.
-- name: RevokeUserSessions :execrows
UPDATE sessions
SET revoked_at = sqlc.arg(now)::timestamptz
WHERE user_id = sqlc.arg(user_id) AND revoked_at IS NULL;
