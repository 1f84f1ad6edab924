-- Reverts version 6: email tokens, queued mails and mail caps are dropped
-- with their tables (version 5 has no use for them).
BEGIN;

DROP TABLE mail_caps;
DROP TABLE mail_outbox;
DROP TABLE email_tokens;

COMMIT;
