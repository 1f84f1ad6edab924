-- Passkeys and the ceremonies in progress.

-- A credential id registered already violates the unique index on
-- passkeys.credential_id (domain.ErrPasskeyExists); no such user the
-- foreign key (domain.ErrNotFound).
-- name: AddPasskey :exec
INSERT INTO passkeys (id, user_id, credential_id, name, data, sign_count, created_at, last_used_at)
VALUES (sqlc.arg(id), sqlc.arg(user_id), sqlc.arg(credential_id), sqlc.arg(name), sqlc.arg(data),
        sqlc.arg(sign_count), sqlc.arg(created_at), sqlc.narg(last_used_at));

-- name: PasskeysOf :many
SELECT id, user_id, credential_id, name, data, sign_count, created_at, last_used_at
FROM passkeys
WHERE user_id = sqlc.arg(user_id)
ORDER BY created_at, id;

-- name: PasskeyByCredentialID :one
SELECT id, user_id, credential_id, name, data, sign_count, created_at, last_used_at
FROM passkeys
WHERE credential_id = sqlc.arg(credential_id);

-- name: PasskeyUsed :execrows
UPDATE passkeys
SET data = sqlc.arg(data), sign_count = sqlc.arg(sign_count), last_used_at = sqlc.arg(now)
WHERE id = sqlc.arg(id);

-- name: RenamePasskey :execrows
UPDATE passkeys
SET name = sqlc.arg(name)
WHERE id = sqlc.arg(id) AND user_id = sqlc.arg(user_id);

-- name: DeletePasskey :execrows
DELETE FROM passkeys
WHERE id = sqlc.arg(id) AND user_id = sqlc.arg(user_id);

-- name: DeletePasskeys :execrows
DELETE FROM passkeys
WHERE user_id = sqlc.arg(user_id);

-- name: CreateCeremony :exec
INSERT INTO passkey_ceremonies (hash, kind, user_id, mfa_token, state, expires_at)
VALUES (sqlc.arg(hash), sqlc.arg(kind), sqlc.narg(user_id), sqlc.narg(mfa_token), sqlc.arg(state), sqlc.arg(expires_at));

-- UseCeremony deletes the ceremony and returns it: of concurrent uses
-- exactly one gets the row.
-- name: UseCeremony :one
DELETE FROM passkey_ceremonies
WHERE hash = sqlc.arg(hash)
RETURNING hash, kind, user_id, mfa_token, state, expires_at;
