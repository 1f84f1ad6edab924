-- Reverts version 4. Version 3 cannot say how a session was proven or
-- whether an email was verified: amr and email_verified are dropped. The
-- password goes back on the user row, where it is NOT NULL: an account
-- without a password credential (possible only from version 4 on) gets the
-- empty string. No encoded hash is empty and the hasher refuses it as
-- malformed, so no password verifies against it: the account still cannot
-- log in with a password, as before the downgrade; and the up migration
-- turns it back into "no credential".
BEGIN;

ALTER TABLE sessions DROP COLUMN amr;
ALTER TABLE users DROP COLUMN email_verified;

ALTER TABLE users ADD COLUMN password_hash text NOT NULL DEFAULT '';
UPDATE users AS u
SET password_hash = pc.hash
FROM password_credentials AS pc
WHERE pc.user_id = u.id;
-- Version 3 had no default: an insert that forgets the hash must fail.
ALTER TABLE users ALTER COLUMN password_hash DROP DEFAULT;

DROP TABLE password_credentials;

COMMIT;
