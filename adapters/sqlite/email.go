package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/authd/authd/adapters/sqlite/internal/sqlcdb"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

var (
	_ ports.EmailTokens = (*Store)(nil)
	_ ports.Outbox      = (*Store)(nil)
)

// SetEmail moves the user to email in one UPDATE: the unique index on the
// email key, not a read first, decides whether another user has it
// (domain.ErrEmailTaken through translate).
func (r *repos) SetEmail(ctx context.Context, id domain.UserID, email domain.Email, verified bool, now time.Time) error {
	const op = "set email"
	if !canonicalID(string(id)) {
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrNotFound)
	}
	n, err := r.w.SetEmail(ctx, sqlcdb.SetEmailParams{
		Email: email.String(), EmailKey: email.Key(), EmailVerified: boolInt(verified), Now: micros(now), ID: string(id),
	})
	if err != nil {
		return r.translate(op, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrNotFound)
	}
	return nil
}

// MarkEmailVerified sets email_verified (again, if it was set: idempotent).
func (r *repos) MarkEmailVerified(ctx context.Context, id domain.UserID, now time.Time) error {
	const op = "mark email verified"
	if !canonicalID(string(id)) {
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrNotFound)
	}
	n, err := r.w.MarkEmailVerified(ctx, sqlcdb.MarkEmailVerifiedParams{Now: micros(now), ID: string(id)})
	if err != nil {
		return r.translate(op, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrNotFound)
	}
	return nil
}

// CreateEmailToken inserts t; the foreign key, not a read first, tells an
// unknown user (domain.ErrNotFound).
func (r *repos) CreateEmailToken(ctx context.Context, t domain.EmailToken) error {
	const op = "create email token"
	if !canonicalID(string(t.UserID)) {
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrNotFound)
	}
	err := r.w.CreateEmailToken(ctx, sqlcdb.CreateEmailTokenParams{
		Hash:      t.Hash[:],
		UserID:    string(t.UserID),
		Purpose:   string(t.Purpose),
		Email:     t.Email.String(),
		EmailKey:  t.Email.Key(),
		CreatedAt: micros(t.CreatedAt),
		ExpiresAt: micros(t.ExpiresAt),
	})
	if isForeignKeyViolation(err) {
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrNotFound)
	}
	return r.translate(op, err)
}

// EmailToken reads the token without using it.
func (r *repos) EmailToken(ctx context.Context, hash domain.EmailTokenHash) (domain.EmailToken, error) {
	const op = "email token"
	row, err := r.r.EmailToken(ctx, hash[:])
	if err != nil {
		return domain.EmailToken{}, r.translate(op, err)
	}
	return emailTokenFromRow(op, row)
}

// UseEmailToken deletes the token and returns it, in one DELETE ...
// RETURNING on the writer: writers are serial, so of concurrent uses
// exactly one gets the row, the others find it gone (domain.ErrNotFound).
func (r *repos) UseEmailToken(ctx context.Context, hash domain.EmailTokenHash) (domain.EmailToken, error) {
	const op = "use email token"
	row, err := r.w.UseEmailToken(ctx, hash[:])
	if err != nil {
		return domain.EmailToken{}, r.translate(op, err)
	}
	return emailTokenFromRow(op, row)
}

// DeleteEmailTokens deletes the user's tokens of purpose (all when empty).
func (r *repos) DeleteEmailTokens(ctx context.Context, user domain.UserID, purpose domain.EmailTokenPurpose) (int, error) {
	const op = "delete email tokens"
	if !canonicalID(string(user)) {
		return 0, nil // names no user: none of its tokens exist
	}
	n, err := r.w.DeleteEmailTokens(ctx, sqlcdb.DeleteEmailTokensParams{UserID: string(user), Purpose: string(purpose)})
	if err != nil {
		return 0, r.translate(op, err)
	}
	return int(n), nil
}

func emailTokenFromRow(op string, row sqlcdb.EmailToken) (domain.EmailToken, error) {
	purpose, err := domain.ParseEmailTokenPurpose(row.Purpose)
	if err != nil || len(row.Hash) != len(domain.EmailTokenHash{}) {
		// The CHECK constraints make this unreachable short of a schema drift.
		return domain.EmailToken{}, fmt.Errorf("sqlite: %s: malformed row of user %s", op, row.UserID)
	}
	return domain.EmailToken{
		Hash:      domain.EmailTokenHash(row.Hash),
		UserID:    domain.UserID(row.UserID),
		Purpose:   purpose,
		Email:     domain.RehydrateEmail(row.Email, row.EmailKey),
		CreatedAt: fromMicros(row.CreatedAt),
		ExpiresAt: fromMicros(row.ExpiresAt),
	}, nil
}

// EnqueueMail inserts m, due at m.NextAttempt, with no attempt made.
func (r *repos) EnqueueMail(ctx context.Context, m domain.QueuedMail) error {
	const op = "enqueue mail"
	if !canonicalID(string(m.ID)) {
		return fmt.Errorf("sqlite: %s: id %q is not a canonical UUID", op, m.ID)
	}
	err := r.w.EnqueueMail(ctx, sqlcdb.EnqueueMailParams{
		ID:            string(m.ID),
		Kind:          string(m.Kind),
		Recipient:     m.To,
		Link:          m.Link,
		Detail:        m.Detail,
		CreatedAt:     micros(m.CreatedAt),
		NextAttemptAt: micros(m.NextAttempt),
	})
	return r.translate(op, err)
}

// ClaimMail leases up to limit due mails in one UPDATE ... RETURNING on
// the writer: writers are serial (across processes too, under the
// database's write lock), so claims at once get disjoint mails. The mails
// come back oldest due first.
func (r *repos) ClaimMail(ctx context.Context, now, leaseUntil time.Time, limit int) ([]domain.QueuedMail, error) {
	const op = "claim mail"
	if limit < 1 || limit > math.MaxInt32 {
		return nil, fmt.Errorf("sqlite: %s: limit %d out of range", op, limit)
	}
	rows, err := r.w.ClaimMail(ctx, sqlcdb.ClaimMailParams{
		LeaseUntil: sql.NullInt64{Int64: micros(leaseUntil), Valid: true}, Now: micros(now), MaxRows: int64(limit),
	})
	if err != nil {
		return nil, r.translate(op, err)
	}
	mails := make([]domain.QueuedMail, 0, len(rows))
	for _, row := range rows {
		kind, err := domain.ParseMailKind(row.Kind)
		if err != nil {
			// The CHECK constraint makes this unreachable short of a schema drift.
			return nil, fmt.Errorf("sqlite: %s: mail %s: %w", op, row.ID, err)
		}
		mails = append(mails, domain.QueuedMail{
			Mail: domain.Mail{
				ID: domain.MailID(row.ID), Kind: kind, To: row.Recipient, Link: row.Link, Detail: row.Detail,
				CreatedAt: fromMicros(row.CreatedAt),
			},
			Attempts:    int(row.Attempts),
			NextAttempt: fromMicros(row.NextAttemptAt),
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
	return r.endMail(ctx, "mail sent", id, func() (int64, error) {
		return r.w.MailSent(ctx, sqlcdb.MailSentParams{Now: sql.NullInt64{Int64: micros(now), Valid: true}, ID: string(id)})
	})
}

// MailFailed ends the lease and makes the mail due again at next.
func (r *repos) MailFailed(ctx context.Context, id domain.MailID, next time.Time, lastError string) error {
	return r.endMail(ctx, "mail failed", id, func() (int64, error) {
		return r.w.MailFailed(ctx, sqlcdb.MailFailedParams{Next: micros(next), LastError: lastError, ID: string(id)})
	})
}

// MailGivenUp abandons the mail and forgets the link.
func (r *repos) MailGivenUp(ctx context.Context, id domain.MailID, now time.Time, lastError string) error {
	return r.endMail(ctx, "mail given up", id, func() (int64, error) {
		return r.w.MailGivenUp(ctx, sqlcdb.MailGivenUpParams{Now: sql.NullInt64{Int64: micros(now), Valid: true}, LastError: lastError, ID: string(id)})
	})
}

// endMail runs one of the UPDATEs that change a pending mail only
// (MailSent, MailFailed, MailGivenUp); when it changed nothing, the mail
// ended already (nothing to do) or there is no such mail.
func (r *repos) endMail(ctx context.Context, op string, id domain.MailID, update func() (int64, error)) error {
	if !canonicalID(string(id)) {
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrNotFound)
	}
	n, err := update()
	if err != nil || n > 0 {
		return r.translate(op, err)
	}
	found, err := r.w.MailExists(ctx, string(id))
	switch {
	case err != nil:
		return r.translate(op, err)
	case !found:
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrNotFound)
	}
	return nil
}

// MailQueue counts the pending mails and finds the oldest.
func (r *repos) MailQueue(ctx context.Context) (int, time.Time, error) {
	row, err := r.r.MailQueue(ctx)
	if err != nil {
		return 0, time.Time{}, r.translate("mail queue", err)
	}
	if row.Queued == 0 {
		return 0, time.Time{}, nil
	}
	return int(row.Queued), fromMicros(row.Oldest), nil
}

// AdmitMail applies cap.Admit to the key's state in one write transaction
// (a savepoint inside WithinTx): read, decide in Go, write back, like
// ClaimLoginAttempt. Writers are serial (BEGIN IMMEDIATE holds the write
// lock, across processes too), so concurrent admissions cannot overrun the
// cap; inside WithinTx the admission commits, or is taken back, with the
// transaction.
func (r *repos) AdmitMail(ctx context.Context, key domain.MailCapKey, now time.Time, cap domain.MailCap) (bool, error) {
	const op = "admit mail"
	now = fromMicros(micros(now)) // the stored resolution, so every store decides alike
	var admitted bool
	err := r.atomically(ctx, op, func(q *sqlcdb.Queries) error {
		var st domain.MailCapState
		row, err := q.MailCapState(ctx, key[:])
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return r.translate(op, err)
		default:
			st = domain.MailCapState{Last: fromMicros(row.LastAt), WindowStart: fromMicros(row.WindowStart), Count: int(row.Count)}
		}
		next, ok := cap.Admit(st, now)
		if admitted = ok; !ok {
			return nil
		}
		return r.translate(op, q.PutMailCapState(ctx, sqlcdb.PutMailCapStateParams{
			Key:         key[:],
			LastAt:      micros(next.Last),
			WindowStart: micros(next.WindowStart),
			Count:       int64(next.Count),
		}))
	})
	if err != nil {
		return false, err
	}
	return admitted, nil
}

// mailCapCutoffs turns cap's staleness rule at now into bounds on the
// stored times (whole microseconds): a key is stale when its last mail is
// at or before lastBy (now less the minimum interval, rounded up, so that
// last+interval <= now exactly as domain.MailCap.Stale decides) and its
// window began at or before windowBy.
func mailCapCutoffs(now time.Time, cap domain.MailCap) (lastBy, windowBy int64) {
	us := micros(now)
	return us - ceilMicros(cap.MinInterval), us - domain.MailCapWindow.Microseconds()
}

// ceilMicros is d in microseconds, rounded up.
func ceilMicros(d time.Duration) int64 {
	us := d.Microseconds() // towards zero
	if time.Duration(us)*time.Microsecond < d {
		us++
	}
	return us
}
