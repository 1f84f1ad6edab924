-- authd schema, version 5: an account is identified by the canonical form
-- of its email (domain.Email.Key: Unicode NFC, the local part case folded,
-- the domain in its IDNA ASCII form), not by lower(email), so one person
-- cannot hold several accounts by spelling one address differently. email
-- keeps the address as the person typed it, for mail.
--
-- SQL cannot compute the key (no IDNA, no Unicode folding), so rows start
-- from lower(email), which is already the key of every ASCII address; the
-- Go pass that runs right after the migrations (postgres.CanonicalizeEmails,
-- called by `authd migrate up` and by the server's start-up migration)
-- recomputes the others and reports, instead of merging, addresses whose
-- key another account already has.
BEGIN;

ALTER TABLE users ADD COLUMN email_key text NULL;
UPDATE users SET email_key = lower(email);
ALTER TABLE users ALTER COLUMN email_key SET NOT NULL;
CREATE UNIQUE INDEX users_email_key ON users (email_key);
DROP INDEX users_email_lower_key;

COMMIT;
