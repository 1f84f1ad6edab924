-- Back to version 4: uniqueness by lower(email) again. It fails, and
-- changes nothing, if two accounts' addresses differ only in case (version
-- 5 allows that only when their keys differ, e.g. an IDNA domain in two
-- spellings cannot, so in practice it succeeds).
BEGIN;

CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
DROP INDEX users_email_key;
ALTER TABLE users DROP COLUMN email_key;

COMMIT;
