package sqlite_test

import (
	"database/sql"
	"testing"
	"time"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

func queuedMail(to, link string) domain.QueuedMail {
	return domain.QueuedMail{
		Mail:        domain.Mail{ID: domain.MailID(newID()), Kind: domain.MailVerifyEmail, To: to, Link: link, CreatedAt: t0},
		NextAttempt: t0,
	}
}

// A mail's link holds an email token: once the mail is sent or given up
// the row keeps no trace of it (the contract cannot see ended mails).
func TestEndedMailForgetsItsLink(t *testing.T) {
	st, path := openStore(t)
	ctx := t.Context()
	sent, given := queuedMail("a@example.com", "https://app.example/verify?token=secret1"), queuedMail("b@example.com", "https://app.example/verify?token=secret2")
	for _, m := range []domain.QueuedMail{sent, given} {
		mustNil(t, st.EnqueueMail(ctx, m))
	}
	mustNil(t, st.MailSent(ctx, sent.ID, t0))
	mustNil(t, st.MailGivenUp(ctx, given.ID, t0, "550 no such user"))
	// A late report of the worker changes nothing, and is no error.
	mustNil(t, st.MailFailed(ctx, sent.ID, t0.Add(time.Minute), "late"))
	mustNil(t, st.MailGivenUp(ctx, sent.ID, t0.Add(time.Minute), "late"))

	db, err := sql.Open("sqlite", "file:"+path)
	mustNil(t, err)
	defer db.Close()
	rows, err := db.Query(`SELECT id, link, sent_at IS NOT NULL, given_up_at IS NOT NULL, last_error FROM mail_outbox`)
	mustNil(t, err)
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id, link, lastError string
		var isSent, isGiven bool
		mustNil(t, rows.Scan(&id, &link, &isSent, &isGiven, &lastError))
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
	if _, err := db.Exec(`UPDATE mail_outbox SET link = 'x' WHERE id = ?`, string(sent.ID)); err == nil {
		t.Fatal("a link on a sent mail was accepted")
	}
}

// A mail cap's minimum interval below the stored resolution rounds up, as
// domain.MailCap.Admit decides it with whole-microsecond times.
func TestMailCapSubMicrosecondInterval(t *testing.T) {
	st, _ := openStore(t)
	ctx := t.Context()
	c := domain.MailCap{MinInterval: time.Microsecond + time.Nanosecond, PerHour: 10}
	key := domain.MailCapKeyFor(newUser(t, "ada@example.com").Email(), domain.PurposeVerifyEmail)
	var state domain.MailCapState
	for i, at := range []time.Duration{0, time.Microsecond, 2 * time.Microsecond, 3 * time.Microsecond, 5 * time.Microsecond} {
		now := t0.Add(at)
		next, want := c.Admit(state, now)
		if want {
			state = next
		}
		got, err := st.AdmitMail(ctx, key, now, c)
		if err != nil || got != want {
			t.Fatalf("admission %d at +%v = %t, %v; want %t", i, at, got, err, want)
		}
	}
	// Stale by the same rounding: at +6µs the last mail (+5µs) is past
	// the interval but the window is not over; an hour on, both are.
	for _, tc := range []struct {
		at   time.Duration
		want int
	}{{6 * time.Microsecond, 0}, {time.Hour, 1}} {
		r, err := st.PruneMailCaps(ctx, t0.Add(tc.at), c, ports.PruneBatch{Limit: 10})
		if err != nil || r.Pruned != tc.want {
			t.Fatalf("PruneMailCaps at +%v = %+v, %v; want %d pruned", tc.at, r, err, tc.want)
		}
	}
}
