package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/authd/authd/adapters/postgres/internal/sqlcdb"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

var (
	_ ports.EmailTokens = (*Store)(nil)
	_ ports.Outbox      = (*Store)(nil)
)

// SetEmail moves the user to email in one UPDATE: the unique index on the
// email key, not a read first, decides whether another user has it
// (domain.ErrEmailTaken through translate), so concurrent moves and
// registrations of one address cannot both win.
func (r *repos) SetEmail(ctx context.Context, id domain.UserID, email domain.Email, verified bool, now time.Time) error {
	const op = "set email"
	uid, ok := userUUID(id)
	if !ok {
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
	}
	n, err := r.q.SetEmail(ctx, sqlcdb.SetEmailParams{
		Email: email.String(), EmailKey: email.Key(), EmailVerified: verified, Now: now, ID: uid,
	})
	if err != nil {
		return r.translate(op, err)
	}
	if n == 0 {
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
	}
	return nil
}

// MarkEmailVerified sets email_verified (again, if it was set: idempotent).
func (r *repos) MarkEmailVerified(ctx context.Context, id domain.UserID, now time.Time) error {
	const op = "mark email verified"
	uid, ok := userUUID(id)
	if !ok {
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
	}
	n, err := r.q.MarkEmailVerified(ctx, sqlcdb.MarkEmailVerifiedParams{Now: now, ID: uid})
	if err != nil {
		return r.translate(op, err)
	}
	if n == 0 {
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
	}
	return nil
}

// CreateEmailToken inserts t; the foreign key, not a read first, tells an
// unknown user (domain.ErrNotFound through translate).
func (r *repos) CreateEmailToken(ctx context.Context, t domain.EmailToken) error {
	const op = "create email token"
	uid, ok := userUUID(t.UserID)
	if !ok {
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
	}
	err := r.q.CreateEmailToken(ctx, sqlcdb.CreateEmailTokenParams{
		Hash:      t.Hash[:],
		UserID:    uid,
		Purpose:   string(t.Purpose),
		Email:     t.Email.String(),
		EmailKey:  t.Email.Key(),
		CreatedAt: t.CreatedAt,
		ExpiresAt: t.ExpiresAt,
	})
	return r.translate(op, err)
}

// EmailToken reads the token without using it.
func (r *repos) EmailToken(ctx context.Context, hash domain.EmailTokenHash) (domain.EmailToken, error) {
	const op = "email token"
	row, err := r.q.EmailToken(ctx, hash[:])
	if err != nil {
		return domain.EmailToken{}, r.translate(op, err)
	}
	return emailTokenFromRow(op, row)
}

// UseEmailToken deletes the token and returns it, in one DELETE ...
// RETURNING: of concurrent uses exactly one deletes the row, the others
// wait for its lock and find it gone (pgx.ErrNoRows: domain.ErrNotFound).
func (r *repos) UseEmailToken(ctx context.Context, hash domain.EmailTokenHash) (domain.EmailToken, error) {
	const op = "use email token"
	row, err := r.q.UseEmailToken(ctx, hash[:])
	if err != nil {
		return domain.EmailToken{}, r.translate(op, err)
	}
	return emailTokenFromRow(op, row)
}

// DeleteEmailTokens deletes the user's tokens of purpose (all when empty).
func (r *repos) DeleteEmailTokens(ctx context.Context, user domain.UserID, purpose domain.EmailTokenPurpose) (int, error) {
	const op = "delete email tokens"
	uid, ok := userUUID(user)
	if !ok {
		return 0, nil // names no user: none of its tokens exist
	}
	n, err := r.q.DeleteEmailTokens(ctx, sqlcdb.DeleteEmailTokensParams{UserID: uid, Purpose: string(purpose)})
	if err != nil {
		return 0, r.translate(op, err)
	}
	return int(n), nil
}

func emailTokenFromRow(op string, row sqlcdb.EmailToken) (domain.EmailToken, error) {
	purpose, err := domain.ParseEmailTokenPurpose(row.Purpose)
	if err != nil || len(row.Hash) != len(domain.EmailTokenHash{}) {
		// The CHECK constraints make this unreachable short of a schema drift.
		return domain.EmailToken{}, fmt.Errorf("postgres: %s: malformed row of user %s", op, row.UserID)
	}
	return domain.EmailToken{
		Hash:      domain.EmailTokenHash(row.Hash),
		UserID:    domain.UserID(row.UserID.String()),
		Purpose:   purpose,
		Email:     domain.RehydrateEmail(row.Email, row.EmailKey),
		CreatedAt: row.CreatedAt,
		ExpiresAt: row.ExpiresAt,
	}, nil
}

// EnqueueMail inserts m, due at m.NextAttempt, with no attempt made. Inside
// WithinTx the INSERT is deferred like an audit event (see tx.go): it goes
// to the server with the transaction's next statement or its COMMIT, whose
// error its failure then is (a fresh UUIDv7 id, a known kind: it has no
// answer of its own to wait for).
func (r *repos) EnqueueMail(ctx context.Context, m domain.QueuedMail) error {
	const op = "enqueue mail"
	id, ok := canonicalUUID(string(m.ID))
	if !ok {
		return fmt.Errorf("postgres: %s: id %q is not a canonical UUID", op, m.ID)
	}
	if _, err := domain.ParseMailKind(string(m.Kind)); err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	err := r.mail.EnqueueMail(ctx, sqlcdb.EnqueueMailParams{
		ID:            id,
		Kind:          string(m.Kind),
		Recipient:     m.To,
		Link:          m.Link,
		Detail:        m.Detail,
		CreatedAt:     m.CreatedAt,
		NextAttemptAt: m.NextAttempt,
	})
	return r.translate(op, err)
}

// ClaimMail leases up to limit due mails in one UPDATE whose page is read
// FOR UPDATE SKIP LOCKED (see the ClaimMail query): couriers claiming at
// once get disjoint mails and never wait for each other. The mails come
// back oldest due first.
func (r *repos) ClaimMail(ctx context.Context, now, leaseUntil time.Time, limit int) ([]domain.QueuedMail, error) {
	const op = "claim mail"
	if limit < 1 || limit > math.MaxInt32 {
		return nil, fmt.Errorf("postgres: %s: limit %d out of range", op, limit)
	}
	rows, err := r.q.ClaimMail(ctx, sqlcdb.ClaimMailParams{LeaseUntil: leaseUntil, Now: now, MaxRows: int32(limit)})
	if err != nil {
		return nil, r.translate(op, err)
	}
	mails := make([]domain.QueuedMail, 0, len(rows))
	for _, row := range rows {
		kind, err := domain.ParseMailKind(row.Kind)
		if err != nil {
			// The CHECK constraint makes this unreachable short of a schema drift.
			return nil, fmt.Errorf("postgres: %s: mail %s: %w", op, row.ID, err)
		}
		mails = append(mails, domain.QueuedMail{
			Mail: domain.Mail{
				ID: domain.MailID(row.ID.String()), Kind: kind, To: row.Recipient, Link: row.Link, Detail: row.Detail,
				CreatedAt: row.CreatedAt,
			},
			Attempts:    int(row.Attempts),
			NextAttempt: row.NextAttemptAt,
		})
	}
	slices.SortFunc(mails, func(a, b domain.QueuedMail) int {
		return cmp.Or(a.NextAttempt.Compare(b.NextAttempt), cmp.Compare(a.ID, b.ID))
	})
	return mails, nil
}

// MailSent records the delivery and forgets the link; a mail that ended
// already stays as it is.
func (r *repos) MailSent(ctx context.Context, id domain.MailID, now time.Time) error {
	return r.endMail(ctx, "mail sent", id, func(uid uuid.UUID) (bool, error) {
		return r.q.MailSent(ctx, sqlcdb.MailSentParams{Now: now, ID: uid})
	})
}

// MailFailed ends the lease and makes the mail due again at next.
func (r *repos) MailFailed(ctx context.Context, id domain.MailID, next time.Time, lastError string) error {
	return r.endMail(ctx, "mail failed", id, func(uid uuid.UUID) (bool, error) {
		return r.q.MailFailed(ctx, sqlcdb.MailFailedParams{Next: next, LastError: lastError, ID: uid})
	})
}

// MailGivenUp abandons the mail and forgets the link.
func (r *repos) MailGivenUp(ctx context.Context, id domain.MailID, now time.Time, lastError string) error {
	return r.endMail(ctx, "mail given up", id, func(uid uuid.UUID) (bool, error) {
		return r.q.MailGivenUp(ctx, sqlcdb.MailGivenUpParams{Now: now, LastError: lastError, ID: uid})
	})
}

// endMail runs one of the statements that change a pending mail only
// (MailSent, MailFailed, MailGivenUp): found false is an unknown id.
func (r *repos) endMail(ctx context.Context, op string, id domain.MailID, stmt func(uuid.UUID) (bool, error)) error {
	uid, ok := canonicalUUID(string(id))
	if !ok {
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
	}
	found, err := stmt(uid)
	switch {
	case err != nil:
		return r.translate(op, err)
	case !found:
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
	}
	return nil
}

// MailQueue counts the pending mails and finds the oldest.
func (r *repos) MailQueue(ctx context.Context) (int, time.Time, error) {
	row, err := r.q.MailQueue(ctx)
	if err != nil {
		return 0, time.Time{}, r.translate("mail queue", err)
	}
	if row.Queued == 0 {
		return 0, time.Time{}, nil
	}
	return int(row.Queued), row.Oldest, nil
}

// AdmitMail runs cap.Admit as one INSERT ... ON CONFLICT DO UPDATE ...
// WHERE (see the AdmitMail query): the decision and the count are one
// atomic step on the key's row, so concurrent admissions cannot overrun
// the cap; inside WithinTx the row stays locked until the transaction
// ends, and a rollback takes the admission back. Outside a transaction it
// runs on the bookkeeping pool, like the login throttle: a count lost in a
// database crash costs nothing lasting.
func (r *repos) AdmitMail(ctx context.Context, key domain.MailCapKey, now time.Time, cap domain.MailCap) (bool, error) {
	const op = "admit mail"
	if cap.PerHour < 1 {
		return false, nil // Admit admits nothing: no count is ever below it
	}
	lastBy, windowBy := mailCapCutoffs(now, cap)
	q := r.q
	if !r.tx {
		q = r.book
	}
	_, err := q.AdmitMail(ctx, sqlcdb.AdmitMailParams{
		Key: key[:], Now: now, WindowBy: windowBy, LastBy: lastBy, PerHour: int32(min(cap.PerHour, math.MaxInt32)),
	})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, pgx.ErrNoRows):
		return false, nil
	}
	return false, r.translate(op, err)
}

// mailCapCutoffs turns cap's rules at now into the bounds the statements
// compare stored times with, at the stored resolution (whole
// microseconds): a key's last mail allows the next at now when it is at or
// before lastBy (now less the minimum interval, rounded up, so that
// last+interval <= now exactly as domain.MailCap.Admit decides), and its
// window is over when it began at or before windowBy.
func mailCapCutoffs(now time.Time, cap domain.MailCap) (lastBy, windowBy time.Time) {
	now = now.Truncate(time.Microsecond)
	return now.Add(-ceilMicros(cap.MinInterval)), now.Add(-domain.MailCapWindow)
}

// ceilMicros rounds d up to a whole number of microseconds.
func ceilMicros(d time.Duration) time.Duration {
	t := d.Truncate(time.Microsecond) // towards zero
	if t < d {
		t += time.Microsecond
	}
	return t
}

// canonicalUUID parses an id in the canonical lower-case form, the only
// one the stores know (domain.ParseUserID's rule, the same for every kind
// of id).
func canonicalUUID(s string) (uuid.UUID, bool) {
	if _, err := domain.ParseUserID(s); err != nil {
		return uuid.UUID{}, false
	}
	u, err := uuid.Parse(s)
	return u, err == nil
}
