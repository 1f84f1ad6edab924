package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// outboxEntry is a queued mail with its delivery state.
type outboxEntry struct {
	mail                        domain.QueuedMail
	leaseUntil, sentAt, endedAt time.Time // endedAt: sent or given up
	lastError                   string
}

func (e outboxEntry) pending() bool { return e.endedAt.IsZero() }

// drop deletes m[k] and, in a transaction, logs how to restore it.
func drop[K comparable, V any](v *view, m map[K]V, k K) {
	old, had := m[k]
	if !had {
		return
	}
	if v.undo != nil {
		*v.undo = append(*v.undo, func() { m[k] = old })
	}
	delete(m, k)
}

// SetEmail moves the user to email unless another user has its key.
func (v *view) SetEmail(_ context.Context, id domain.UserID, email domain.Email, verified bool, _ time.Time) error {
	defer v.lock()()
	u, ok := v.d.users[id]
	if !ok {
		return fmt.Errorf("memory: set email: %w", domain.ErrNotFound)
	}
	key := emailKey(email)
	if owner, taken := v.d.byEmail[key]; taken && owner != id {
		return fmt.Errorf("memory: set email: %w", domain.ErrEmailTaken)
	}
	drop(v, v.d.byEmail, emailKey(u.Email()))
	put(v, v.d.byEmail, key, id)
	put(v, v.d.users, id, domain.RehydrateUser(id, email, verified, u.Name(), u.Role(), u.CreatedAt()).WithMFAEnabled(u.MFAEnabled()))
	return nil
}

// MarkEmailVerified sets the user's email_verified.
func (v *view) MarkEmailVerified(_ context.Context, id domain.UserID, _ time.Time) error {
	defer v.lock()()
	u, ok := v.d.users[id]
	if !ok {
		return fmt.Errorf("memory: mark email verified: %w", domain.ErrNotFound)
	}
	put(v, v.d.users, id, domain.RehydrateUser(id, u.Email(), true, u.Name(), u.Role(), u.CreatedAt()).WithMFAEnabled(u.MFAEnabled()))
	return nil
}

// CreateEmailToken stores t.
func (v *view) CreateEmailToken(_ context.Context, t domain.EmailToken) error {
	defer v.lock()()
	if _, ok := v.d.users[t.UserID]; !ok {
		return fmt.Errorf("memory: create email token: %w", domain.ErrNotFound)
	}
	t.CreatedAt, t.ExpiresAt = pgTime(t.CreatedAt), pgTime(t.ExpiresAt)
	put(v, v.d.emailTokens, t.Hash, t)
	return nil
}

// EmailToken reads a token without using it.
func (v *view) EmailToken(_ context.Context, hash domain.EmailTokenHash) (domain.EmailToken, error) {
	defer v.lock()()
	t, ok := v.d.emailTokens[hash]
	if !ok {
		return domain.EmailToken{}, fmt.Errorf("memory: email token: %w", domain.ErrNotFound)
	}
	return t, nil
}

// UseEmailToken deletes and returns the token, under the mutex.
func (v *view) UseEmailToken(_ context.Context, hash domain.EmailTokenHash) (domain.EmailToken, error) {
	defer v.lock()()
	t, ok := v.d.emailTokens[hash]
	if !ok {
		return domain.EmailToken{}, fmt.Errorf("memory: use email token: %w", domain.ErrNotFound)
	}
	drop(v, v.d.emailTokens, hash)
	return t, nil
}

// DeleteEmailTokens deletes the user's tokens of purpose (or all).
func (v *view) DeleteEmailTokens(_ context.Context, user domain.UserID, purpose domain.EmailTokenPurpose) (int, error) {
	defer v.lock()()
	n := 0
	for h, t := range v.d.emailTokens {
		if t.UserID == user && (purpose == "" || t.Purpose == purpose) {
			drop(v, v.d.emailTokens, h)
			n++
		}
	}
	return n, nil
}

// EnqueueMail queues m.
func (v *view) EnqueueMail(_ context.Context, m domain.QueuedMail) error {
	defer v.lock()()
	if _, dup := v.d.outbox[m.ID]; dup {
		return fmt.Errorf("memory: enqueue mail: duplicate id %s", m.ID)
	}
	m.CreatedAt, m.NextAttempt, m.Attempts = pgTime(m.CreatedAt), pgTime(m.NextAttempt), 0
	put(v, v.d.outbox, m.ID, outboxEntry{mail: m})
	return nil
}

// ClaimMail leases the oldest due mails under the mutex.
func (v *view) ClaimMail(_ context.Context, now, leaseUntil time.Time, limit int) ([]domain.QueuedMail, error) {
	if limit < 1 {
		return nil, fmt.Errorf("memory: claim mail: limit %d is not positive", limit)
	}
	defer v.lock()()
	var due []outboxEntry
	for _, e := range v.d.outbox {
		if e.pending() && !e.mail.NextAttempt.After(now) && !e.leaseUntil.After(now) {
			due = append(due, e)
		}
	}
	slices.SortFunc(due, func(a, b outboxEntry) int {
		return cmp.Or(a.mail.NextAttempt.Compare(b.mail.NextAttempt), cmp.Compare(a.mail.ID, b.mail.ID))
	})
	out := make([]domain.QueuedMail, 0, min(limit, len(due)))
	for _, e := range due[:min(limit, len(due))] {
		e.mail.Attempts++
		e.leaseUntil = pgTime(leaseUntil)
		put(v, v.d.outbox, e.mail.ID, e)
		out = append(out, e.mail)
	}
	return out, nil
}

// end applies f to a pending mail.
func (v *view) end(op string, id domain.MailID, f func(*outboxEntry)) error {
	defer v.lock()()
	e, ok := v.d.outbox[id]
	if !ok {
		return fmt.Errorf("memory: %s: %w", op, domain.ErrNotFound)
	}
	if !e.pending() {
		return nil
	}
	f(&e)
	put(v, v.d.outbox, id, e)
	return nil
}

// MailSent records the delivery and forgets the link.
func (v *view) MailSent(_ context.Context, id domain.MailID, now time.Time) error {
	return v.end("mail sent", id, func(e *outboxEntry) {
		e.sentAt, e.endedAt, e.mail.Link, e.leaseUntil = pgTime(now), pgTime(now), "", time.Time{}
	})
}

// MailFailed ends the lease and schedules the next attempt.
func (v *view) MailFailed(_ context.Context, id domain.MailID, next time.Time, lastError string) error {
	return v.end("mail failed", id, func(e *outboxEntry) {
		e.mail.NextAttempt, e.leaseUntil, e.lastError = pgTime(next), time.Time{}, lastError
	})
}

// MailGivenUp abandons the mail and forgets the link.
func (v *view) MailGivenUp(_ context.Context, id domain.MailID, now time.Time, lastError string) error {
	return v.end("mail given up", id, func(e *outboxEntry) {
		e.endedAt, e.mail.Link, e.leaseUntil, e.lastError = pgTime(now), "", time.Time{}, lastError
	})
}

// MailQueue counts pending mails.
func (v *view) MailQueue(context.Context) (int, time.Time, error) {
	defer v.lock()()
	n, oldest := 0, time.Time{}
	for _, e := range v.d.outbox {
		if e.pending() {
			n++
			if oldest.IsZero() || e.mail.CreatedAt.Before(oldest) {
				oldest = e.mail.CreatedAt
			}
		}
	}
	return n, oldest, nil
}

// AdmitMail applies cap.Admit under the mutex.
func (v *view) AdmitMail(_ context.Context, key domain.MailCapKey, now time.Time, cap domain.MailCap) (bool, error) {
	now = pgTime(now)
	defer v.lock()()
	st, ok := cap.Admit(v.d.mailCaps[key], now)
	if ok {
		put(v, v.d.mailCaps, key, st)
	}
	return ok, nil
}

// PruneEmailTokens deletes up to b.Limit expired tokens.
func (s *Store) PruneEmailTokens(_ context.Context, now time.Time, b ports.PruneBatch) (ports.PruneResult, error) {
	return pruneWhere(s, "email tokens", b, s.d.emailTokens, func(t domain.EmailToken) bool { return !t.Usable(now) })
}

// PruneMail deletes up to b.Limit mails ended before before.
func (s *Store) PruneMail(_ context.Context, before time.Time, b ports.PruneBatch) (ports.PruneResult, error) {
	return pruneWhere(s, "mail", b, s.d.outbox, func(e outboxEntry) bool { return !e.pending() && e.endedAt.Before(before) })
}

// PruneMailCaps deletes up to b.Limit stale mail-cap keys.
func (s *Store) PruneMailCaps(_ context.Context, now time.Time, cap domain.MailCap, b ports.PruneBatch) (ports.PruneResult, error) {
	return pruneWhere(s, "mail caps", b, s.d.mailCaps, func(st domain.MailCapState) bool { return cap.Stale(st, now) })
}

func pruneWhere[K comparable, V any](s *Store, what string, b ports.PruneBatch, m map[K]V, gone func(V) bool) (ports.PruneResult, error) {
	if b.Limit < 1 {
		return ports.PruneResult{}, fmt.Errorf("memory: prune %s: limit %d is not positive", what, b.Limit)
	}
	defer s.lock()()
	n := 0
	for k, val := range m {
		if n == b.Limit {
			break
		}
		if gone(val) {
			delete(m, k)
			n++
		}
	}
	return ports.PruneResult{Pruned: n, Done: n < b.Limit}, nil
}
