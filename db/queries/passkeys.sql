-- Passkeys (ports.Passkeys) and the ceremonies in progress.

-- AddPasskey: the unique constraint on credential_id decides a credential
-- registered already (domain.ErrPasskeyExists), the foreign key an unknown
-- user (domain.ErrNotFound).
-- name: AddPasskey :exec
INSERT INTO passkeys (id, user_id, credential_id, name, data, sign_count, created_at, last_used_at)
VALUES (@id, @user_id, @credential_id, @name, @data, @sign_count, @created_at, sqlc.narg(last_used_at));

-- name: PasskeysOf :many
SELECT id, user_id, credential_id, name, data, sign_count, created_at, last_used_at
FROM passkeys
WHERE user_id = @user_id
ORDER BY created_at, id;

-- name: PasskeyByCredentialID :one
SELECT id, user_id, credential_id, name, data, sign_count, created_at, last_used_at
FROM passkeys
WHERE credential_id = @credential_id;

-- name: PasskeyUsed :execrows
UPDATE passkeys
SET data = @data, sign_count = @sign_count, last_used_at = sqlc.arg(now)::timestamptz
WHERE id = @id;

-- RenamePasskey and DeletePasskey act on the user's own passkey only.
-- name: RenamePasskey :execrows
UPDATE passkeys
SET name = @name
WHERE id = @id AND user_id = @user_id;

-- name: DeletePasskey :execrows
DELETE FROM passkeys
WHERE id = @id AND user_id = @user_id;

-- name: DeletePasskeys :execrows
DELETE FROM passkeys
WHERE user_id = @user_id;

-- name: CreateCeremony :exec
INSERT INTO passkey_ceremonies (hash, kind, user_id, mfa_token, state, expires_at)
VALUES (@hash, @kind, sqlc.narg(user_id), sqlc.narg(mfa_token), @state, @expires_at);

-- UseCeremony deletes and returns the ceremony: of concurrent uses exactly
-- one gets the row.
-- name: UseCeremony :one
DELETE FROM passkey_ceremonies
WHERE hash = @hash
RETURNING hash, kind, user_id, mfa_token, state, expires_at;
