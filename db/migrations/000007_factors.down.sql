-- Reverts version 7: second factors, login challenges, passkeys and
-- ceremonies are dropped with their tables (version 6 has no use for
-- them), and users.mfa_enabled with them.
BEGIN;

DROP TABLE passkey_ceremonies;
DROP TABLE passkeys;
DROP TABLE mfa_challenges;
DROP TABLE recovery_codes;
DROP TABLE totp_credentials;
ALTER TABLE users DROP COLUMN mfa_enabled;

COMMIT;
