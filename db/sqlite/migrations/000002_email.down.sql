DROP TABLE mail_caps;
DROP TABLE mail_outbox;
DROP TABLE email_tokens;
