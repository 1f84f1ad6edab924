-- authd schema, version 6: email tokens, the mail outbox and the mail caps.
--
-- An email token (domain.EmailToken: verify an address, reset a password,
-- change the address) is stored as the SHA-256 digest of the token and its
-- purpose, never the token; using it deletes the row, so it is single use
-- by the atomicity of one DELETE. A mail is queued in the transaction that
-- makes it (with the token it carries) and a courier on any replica
-- delivers it later; once sent or given up its link, which holds the
-- token, is forgotten. The mail caps keep, per address and purpose (a
-- digest, never the address), how many mails a request made it receive.
BEGIN;

-- email is the address the token was sent to as typed, email_key its
-- canonical form (domain.Email.Key), as on users. The foreign key is named
-- because adapters/postgres maps its violation, by name, to
-- domain.ErrNotFound (a token for no such user); ON DELETE CASCADE: a
-- token means nothing without its user.
CREATE TABLE email_tokens (
    hash       bytea       PRIMARY KEY CONSTRAINT email_tokens_hash_length CHECK (length(hash) = 32),
    user_id    uuid        NOT NULL
        CONSTRAINT email_tokens_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    purpose    text        NOT NULL
        CONSTRAINT email_tokens_purpose_check CHECK (purpose IN ('verify_email', 'reset_password', 'change_email')),
    email      text        NOT NULL,
    email_key  text        NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

-- A user's tokens of a purpose are deleted together (a new reset link
-- voids the older ones); the pruner deletes expired ones oldest first.
CREATE INDEX email_tokens_user_id_purpose_idx ON email_tokens (user_id, purpose);
CREATE INDEX email_tokens_expires_at_idx ON email_tokens (expires_at);

-- A mail is pending until it is sent (sent_at) or given up (given_up_at),
-- never both; lease_until hides a claimed mail from other couriers until
-- the claim ends (the worker may have died). link holds a secret until the
-- mail ends, and is empty from then on; detail and last_error never hold
-- one.
CREATE TABLE mail_outbox (
    id              uuid        PRIMARY KEY,
    kind            text        NOT NULL
        CONSTRAINT mail_outbox_kind_check CHECK (kind IN ('verify_email', 'reset_password', 'password_changed',
            'confirm_email_change', 'email_changed', 'factor_added', 'factor_removed')),
    recipient       text        NOT NULL,
    link            text        NOT NULL DEFAULT '',
    detail          text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0 CONSTRAINT mail_outbox_attempts_check CHECK (attempts >= 0),
    lease_until     timestamptz NULL,
    sent_at         timestamptz NULL,
    given_up_at     timestamptz NULL,
    last_error      text        NOT NULL DEFAULT '',
    CONSTRAINT mail_outbox_ends_once CHECK (sent_at IS NULL OR given_up_at IS NULL),
    CONSTRAINT mail_outbox_link_forgotten CHECK ((sent_at IS NULL AND given_up_at IS NULL) OR link = '')
);

-- Couriers claim the pending mails due first; the index holds the pending
-- mails only, so it stays small however many sent ones wait for the pruner.
CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at, id)
    WHERE sent_at IS NULL AND given_up_at IS NULL;
-- The pruner deletes the mails that ended longest ago.
CREATE INDEX mail_outbox_ended_idx ON mail_outbox ((coalesce(sent_at, given_up_at)))
    WHERE sent_at IS NOT NULL OR given_up_at IS NOT NULL;

-- One row per address and purpose that was sent a mail (domain.MailCapKey,
-- a digest): domain.MailCapState. A row exists only once a mail was
-- admitted, so last_at and window_start are never unset.
CREATE TABLE mail_caps (
    key          bytea       PRIMARY KEY CONSTRAINT mail_caps_key_length CHECK (length(key) = 32),
    last_at      timestamptz NOT NULL,
    window_start timestamptz NOT NULL,
    count        integer     NOT NULL CONSTRAINT mail_caps_count_positive CHECK (count > 0)
);

COMMIT;
