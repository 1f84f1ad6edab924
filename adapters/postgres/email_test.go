package postgres_test

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/authd/authd/adapters/postgres/pgtest"
	"github.com/authd/authd/domain"
)

// A mail's link holds an email token: once the mail is sent or given up
// the row keeps no trace of it (the contract cannot see ended mails).
func TestEndedMailForgetsItsLink(t *testing.T) {
	url := pgtest.NewDatabase(t)
	st := openStore(t, url)
	ctx := t.Context()
	sent, given := queuedMail("a@example.com", "https://app.example/verify?token=secret1"), queuedMail("b@example.com", "https://app.example/verify?token=secret2")
	for _, m := range []domain.QueuedMail{sent, given} {
		if err := st.EnqueueMail(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.MailSent(ctx, sent.ID, t0); err != nil {
		t.Fatal(err)
	}
	if err := st.MailGivenUp(ctx, given.ID, t0, "550 no such user"); err != nil {
		t.Fatal(err)
	}
	// A late report of the worker changes nothing, and is no error.
	if err := st.MailFailed(ctx, sent.ID, t0.Add(time.Minute), "late"); err != nil {
		t.Fatal(err)
	}
	if err := st.MailGivenUp(ctx, sent.ID, t0.Add(time.Minute), "late"); err != nil {
		t.Fatal(err)
	}
	conn := rawConn(t, url)
	rows, err := conn.Query(ctx, `SELECT id::text, link, sent_at IS NOT NULL, given_up_at IS NOT NULL, last_error FROM mail_outbox`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id, link, lastError string
		var isSent, isGiven bool
		if err := rows.Scan(&id, &link, &isSent, &isGiven, &lastError); err != nil {
			t.Fatal(err)
		}
		n++
		switch {
		case link != "":
			t.Errorf("mail %s keeps its link after it ended", id)
		case id == string(sent.ID) && (!isSent || isGiven || lastError != ""):
			t.Errorf("sent mail: sent %t, given up %t, last error %q", isSent, isGiven, lastError)
		case id == string(given.ID) && (isSent || !isGiven || lastError != "550 no such user"):
			t.Errorf("given-up mail: sent %t, given up %t, last error %q", isSent, isGiven, lastError)
		}
	}
	if err := rows.Err(); err != nil || n != 2 {
		t.Fatalf("%d rows, %v", n, err)
	}
	// And the schema refuses an ended mail that still has one.
	_, err = conn.Exec(ctx, `UPDATE mail_outbox SET link = 'x' WHERE id = $1`, sent.ID.String())
	if !isCheckViolation(err) {
		t.Fatalf("a link on a sent mail = %v, want a check violation", err)
	}
}

func TestEmailSchemaChecks(t *testing.T) {
	url := pgtest.NewDatabase(t)
	st := openStore(t, url)
	conn := rawConn(t, url)
	ctx := t.Context()
	u := newUser(t, "ada@example.com")
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	for name, stmt := range map[string]string{
		"unknown purpose": `INSERT INTO email_tokens (hash, user_id, purpose, email, email_key, created_at, expires_at)
		                    VALUES (decode(repeat('ab', 32), 'hex'), $1, 'login', 'a@example.com', 'a@example.com', now(), now())`,
		"short token hash": `INSERT INTO email_tokens (hash, user_id, purpose, email, email_key, created_at, expires_at)
		                     VALUES (decode(repeat('ab', 31), 'hex'), $1, 'verify_email', 'a@example.com', 'a@example.com', now(), now())`,
		"unknown kind": `INSERT INTO mail_outbox (id, kind, recipient, created_at, next_attempt_at)
		                 VALUES ($1, 'newsletter', 'a@example.com', now(), now())`,
		"sent and given up": `INSERT INTO mail_outbox (id, kind, recipient, created_at, next_attempt_at, sent_at, given_up_at)
		                      VALUES ($1, 'verify_email', 'a@example.com', now(), now(), now(), now())`,
		"zero count": `INSERT INTO mail_caps (key, last_at, window_start, count) VALUES (decode(repeat('ab', 32), 'hex'), now(), now(), 0)`,
	} {
		var err error
		if name == "zero count" {
			_, err = conn.Exec(ctx, stmt)
		} else {
			_, err = conn.Exec(ctx, stmt, uuid.Must(uuid.Parse(string(u.ID()))))
		}
		if !isCheckViolation(err) {
			t.Errorf("%s: %v, want a check violation", name, err)
		}
	}
	// Every kind and purpose the domain knows is allowed.
	for _, k := range domain.MailKinds {
		m := queuedMail("a@example.com", "")
		m.Kind = k
		if err := st.EnqueueMail(ctx, m); err != nil {
			t.Errorf("EnqueueMail of kind %s: %v", k, err)
		}
	}
	for _, p := range domain.EmailTokenPurposes {
		_, h, _ := domain.NewEmailTokenValue(rand.Reader, p)
		if err := st.CreateEmailToken(ctx, domain.EmailToken{Hash: h, UserID: u.ID(), Purpose: p, Email: u.Email(), CreatedAt: t0, ExpiresAt: t0}); err != nil {
			t.Errorf("CreateEmailToken of purpose %s: %v", p, err)
		}
	}
	// A user's tokens go with the user.
	if _, err := conn.Exec(ctx, `DELETE FROM users WHERE id = $1`, string(u.ID())); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM email_tokens`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("email tokens left after their user was deleted: %d, %v", left, err)
	}
}

// A mail cap's minimum interval below the stored resolution rounds up, as
// domain.MailCap.Admit decides it with whole-microsecond times.
func TestMailCapSubMicrosecondInterval(t *testing.T) {
	st := openStore(t, pgtest.NewDatabase(t))
	ctx := t.Context()
	c := domain.MailCap{MinInterval: time.Microsecond + time.Nanosecond, PerHour: 10}
	key := domain.MailCapKeyFor(mustEmail(t, "ada@example.com"), domain.PurposeVerifyEmail)
	var st0 domain.MailCapState
	for i, at := range []time.Duration{0, time.Microsecond, 2 * time.Microsecond, 3 * time.Microsecond, 5 * time.Microsecond} {
		now := t0.Add(at)
		next, want := c.Admit(st0, now)
		if want {
			st0 = next
		}
		got, err := st.AdmitMail(ctx, key, now, c)
		if err != nil || got != want {
			t.Fatalf("admission %d at +%v = %t, %v; want %t", i, at, got, err, want)
		}
	}
}
