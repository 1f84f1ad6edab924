-- Password credentials, one row per user that has a password.

-- SetPassword gives a user a password or replaces theirs. The primary key
-- on user_id decides between insert and replace atomically; a user that
-- does not exist violates password_credentials_user_id_fkey, which the
-- adapter reports as not found.
-- name: SetPassword :exec
INSERT INTO password_credentials (user_id, hash, created_at, updated_at)
VALUES (@user_id, @hash, @now, @now)
ON CONFLICT (user_id) DO UPDATE
SET hash = excluded.hash, updated_at = excluded.updated_at;

-- name: PasswordHash :one
SELECT hash FROM password_credentials WHERE user_id = @user_id;

-- SwapPasswordHash is a compare-and-swap: it writes new_hash only over
-- old_hash. Under READ COMMITTED an UPDATE that waited for a concurrent
-- change of the row re-checks the condition on the committed version, so a
-- rehash racing a password change finds no row instead of reverting it.
-- has_credential tells the two reasons for no swap apart in the same round
-- trip: it reads the statement's snapshot, so a credential the UPDATE
-- waited for still counts as existing (a stale old_hash, not a missing
-- user). The UPDATE's row lock is held until the transaction ends, and it
-- conflicts with HoldPassword's FOR SHARE.
-- name: SwapPasswordHash :one
WITH swapped AS (
    UPDATE password_credentials AS cur
    SET hash = sqlc.arg(new_hash), updated_at = sqlc.arg(now)
    WHERE cur.user_id = sqlc.arg(user_id) AND cur.hash = sqlc.arg(old_hash)
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM swapped) AS swapped,
       EXISTS (SELECT 1 FROM password_credentials AS pc WHERE pc.user_id = sqlc.arg(user_id)) AS has_credential;

-- HoldPassword is the first statement of a login's session creation: it
-- checks that the user's password hash still is the one the login verified
-- and holds a FOR SHARE lock on the credential until the session is
-- committed. FOR SHARE conflicts with the row lock of SwapPasswordHash (an
-- UPDATE of a non-key column takes FOR NO KEY UPDATE), so a login and a
-- password change of one user serialise: a login that locks first commits
-- its session before the change's revocation, a later statement with a
-- later snapshot, reads the sessions (and is revoked with the others); a
-- login that comes after waits, re-checks the committed row, sees the new
-- hash and gets no row.
-- name: HoldPassword :one
SELECT 1 AS held
FROM password_credentials
WHERE user_id = @user_id AND hash = @hash
FOR SHARE;
