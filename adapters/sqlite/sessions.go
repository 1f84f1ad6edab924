package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/authd/authd/adapters/sqlite/internal/sqlcdb"
	"github.com/authd/authd/domain"
)

// CreateSession stores sess and its first refresh token, atomically (one
// write transaction, or a savepoint inside WithinTx). first joins sess
// whatever its SessionID says, but a SessionID naming another session is a
// caller bug and is refused.
func (r *repos) CreateSession(ctx context.Context, sess domain.Session, first domain.IssuedRefreshToken) error {
	const op = "create session"
	if first.SessionID != "" && first.SessionID != sess.ID() {
		return fmt.Errorf("sqlite: %s: first refresh token names another session", op)
	}
	if !canonicalID(string(sess.ID())) {
		return fmt.Errorf("sqlite: %s: id %q is not a canonical UUID", op, sess.ID())
	}
	if !canonicalID(string(sess.UserID())) {
		return fmt.Errorf("sqlite: %s: user id %q is not a canonical UUID", op, sess.UserID())
	}
	client := sess.Client().Clean()
	return r.atomically(ctx, op, func(q *sqlcdb.Queries) error {
		err := q.CreateSession(ctx, sqlcdb.CreateSessionParams{
			ID:         string(sess.ID()),
			UserID:     string(sess.UserID()),
			CreatedAt:  micros(sess.CreatedAt()),
			LastUsedAt: micros(sess.LastUsedAt()),
			RevokedAt:  nullMicros(sess.RevokedAt()),
			Ip:         client.IP,
			UserAgent:  client.UserAgent,
			Amr:        domain.FormatMethods(sess.Methods()),
		})
		if err != nil {
			return r.translate(op, err)
		}
		err = q.CreateRefreshToken(ctx, sqlcdb.CreateRefreshTokenParams{
			TokenHash: first.Hash[:],
			SessionID: string(sess.ID()),
			IssuedAt:  micros(sess.CreatedAt()),
			ExpiresAt: micros(first.ExpiresAt),
		})
		return r.translate(op, err)
	})
}

// RefreshToken reads the token, its session and owner in one query. Inside
// WithinTx the transaction holds the write lock from its BEGIN IMMEDIATE,
// so what this read returns stays so until the rotation decided on it
// commits: no FOR UPDATE needed (nor available).
func (r *repos) RefreshToken(ctx context.Context, hash domain.RefreshTokenHash) (domain.RefreshTokenRecord, domain.Session, domain.User, error) {
	row, err := r.r.RefreshToken(ctx, hash[:])
	if err != nil {
		return domain.RefreshTokenRecord{}, domain.Session{}, domain.User{}, r.translate("refresh token", err)
	}
	sess, owner, err := sessionWithOwner(sqlcdb.SessionWithOwnerRow{
		ID: row.ID, UserID: row.UserID, CreatedAt: row.CreatedAt, LastUsedAt: row.LastUsedAt,
		RevokedAt: row.RevokedAt, Ip: row.Ip, UserAgent: row.UserAgent, Amr: row.Amr,
		Email: row.Email, EmailKey: row.EmailKey, EmailVerified: row.EmailVerified, Name: row.Name, Role: row.Role, UserCreatedAt: row.UserCreatedAt,
		MfaEnabled: row.MfaEnabled,
	})
	if err != nil {
		return domain.RefreshTokenRecord{}, domain.Session{}, domain.User{}, err
	}
	rec := domain.RefreshTokenRecord{Hash: hash, SessionID: sess.ID(), ExpiresAt: fromMicros(row.ExpiresAt), SpentAt: fromNullMicros(row.SpentAt)}
	return rec, sess, owner, nil
}

// errNotRotated: the spend matched no unspent token (a sibling: no spent
// token), or one of another session. Nothing was written (the write is rolled back).
var errNotRotated = errors.New("sqlite: rotate: the spent token is not an unspent token of the session")

// Rotate stores rot atomically: it spends the presented token only if it
// is unspent (spent_at IS NULL), records the use on its session and adds
// the successor. The caller decided on the token under the transaction's
// write lock, so the spend cannot miss; if it does (a caller outside a
// transaction lost a race, or a bug), nothing is written and this is an
// error, never a silent success. So is a token of another session than
// rot.Session. A sibling rotation spends nothing: the presented token must
// already be spent, and the sibling is added beside its successor.
func (r *repos) Rotate(ctx context.Context, rot domain.Rotation) error {
	const op = "rotate"
	if rot.Next.SessionID != "" && rot.Next.SessionID != rot.Session {
		return fmt.Errorf("sqlite: %s: next refresh token names another session", op)
	}
	if !canonicalID(string(rot.Session)) {
		return fmt.Errorf("sqlite: %s: session id %q is not a canonical UUID", op, rot.Session)
	}
	client := rot.Client.Clean()
	at := micros(rot.At)
	return r.atomically(ctx, op, func(q *sqlcdb.Queries) error {
		var (
			of  string
			err error
		)
		if rot.Spends() {
			of, err = q.SpendRefreshToken(ctx, sqlcdb.SpendRefreshTokenParams{At: sql.NullInt64{Int64: at, Valid: true}, TokenHash: rot.Spent[:]})
		} else {
			of, err = q.SpentRefreshTokenSession(ctx, rot.Spent[:])
		}
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return errNotRotated
		case err != nil:
			return r.translate(op, err)
		case of != string(rot.Session):
			return errNotRotated
		}
		if _, err := q.TouchSession(ctx, sqlcdb.TouchSessionParams{At: at, Ip: client.IP, UserAgent: client.UserAgent, ID: of}); err != nil {
			return r.translate(op, err)
		}
		err = q.CreateRefreshToken(ctx, sqlcdb.CreateRefreshTokenParams{
			TokenHash: rot.Next.Hash[:],
			SessionID: of,
			IssuedAt:  at,
			ExpiresAt: micros(rot.Next.ExpiresAt),
		})
		return r.translate(op, err)
	})
}

// SessionByID returns the session, revoked or not, with its owner, in one
// query.
func (r *repos) SessionByID(ctx context.Context, id domain.SessionID) (domain.Session, domain.User, error) {
	if !canonicalID(string(id)) {
		return domain.Session{}, domain.User{}, fmt.Errorf("sqlite: session by id: %w", domain.ErrNotFound)
	}
	row, err := r.r.SessionWithOwner(ctx, string(id))
	if err != nil {
		return domain.Session{}, domain.User{}, r.translate("session by id", err)
	}
	return sessionWithOwner(row)
}

// SessionsOfUser reads the user's usable sessions, newest first, in one query.
func (r *repos) SessionsOfUser(ctx context.Context, user domain.UserID, now time.Time, policy domain.SessionPolicy, limit int) ([]domain.Session, error) {
	if limit < 1 || limit > math.MaxInt32 {
		return nil, fmt.Errorf("sqlite: sessions of user: limit %d out of range", limit)
	}
	if !canonicalID(string(user)) {
		return nil, nil
	}
	rows, err := r.r.UsableSessionsOfUser(ctx, sqlcdb.UsableSessionsOfUserParams{
		UserID:       string(user),
		UsedAfter:    lowerBound(policy.UsedAfter(now)),
		CreatedAfter: lowerBound(policy.CreatedAfter(now)),
		MaxRows:      int64(limit),
	})
	if err != nil {
		return nil, r.translate("sessions of user", err)
	}
	out := make([]domain.Session, 0, len(rows))
	for _, row := range rows {
		out = append(out, sessionFromRow(sqlcdb.Session(row)))
	}
	return out, nil
}

// lowerBound is an exclusive lower bound in microseconds; the zero time
// sets none.
func lowerBound(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return micros(t)
}

// RevokeSession sets revoked_at once; unknown or already revoked sessions are fine.
func (r *repos) RevokeSession(ctx context.Context, id domain.SessionID, now time.Time) error {
	if !canonicalID(string(id)) {
		return nil // names no session: nothing to revoke
	}
	err := r.w.RevokeSession(ctx, sqlcdb.RevokeSessionParams{Now: sql.NullInt64{Int64: micros(now), Valid: true}, ID: string(id)})
	return r.translate("revoke session", err)
}

// RevokeSessions ends the user's active sessions but keep in one statement
// and returns the row count. keep need not be a UUID: then it names no
// session and nothing is spared; an id that is not a UUID names no user.
func (r *repos) RevokeSessions(ctx context.Context, user domain.UserID, keep domain.SessionID, now time.Time) (int, error) {
	if !canonicalID(string(user)) {
		return 0, nil
	}
	spare := ""
	if canonicalID(string(keep)) {
		spare = string(keep)
	}
	n, err := r.w.RevokeSessions(ctx, sqlcdb.RevokeSessionsParams{Now: sql.NullInt64{Int64: micros(now), Valid: true}, UserID: string(user), Keep: spare})
	if err != nil {
		return 0, r.translate("revoke sessions", err)
	}
	return int(n), nil
}

// sessionWithOwner splits a session-with-owner row (SessionWithOwner, and
// RefreshToken's columns copied into one).
func sessionWithOwner(r sqlcdb.SessionWithOwnerRow) (domain.Session, domain.User, error) {
	sess := sessionFromRow(sqlcdb.Session{
		ID: r.ID, UserID: r.UserID, CreatedAt: r.CreatedAt, LastUsedAt: r.LastUsedAt,
		RevokedAt: r.RevokedAt, Ip: r.Ip, UserAgent: r.UserAgent, Amr: r.Amr,
	})
	owner, err := userFromRow(sqlcdb.UserByIDRow{
		ID:            r.UserID,
		Email:         r.Email,
		EmailKey:      r.EmailKey,
		EmailVerified: r.EmailVerified,
		Name:          r.Name,
		Role:          r.Role,
		CreatedAt:     r.UserCreatedAt,
		MfaEnabled:    r.MfaEnabled,
	})
	if err != nil {
		return domain.Session{}, domain.User{}, err
	}
	return sess, owner, nil
}

// sessionFromRow rebuilds a session from its columns.
func sessionFromRow(r sqlcdb.Session) domain.Session {
	return domain.RehydrateSession(domain.SessionID(r.ID), domain.UserID(r.UserID),
		fromMicros(r.CreatedAt), fromMicros(r.LastUsedAt), fromNullMicros(r.RevokedAt),
		domain.ClientInfo{IP: r.Ip, UserAgent: r.UserAgent}, domain.ParseMethods(r.Amr))
}
