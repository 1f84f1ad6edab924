package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/authd/authd/adapters/postgres/internal/sqlcdb"
	"github.com/authd/authd/domain"
)

// CreateSession stores s and its first refresh token in one transaction.
// first joins s whatever its SessionID says, but a SessionID naming another
// session is a caller bug and is refused.
func (s *Store) CreateSession(ctx context.Context, sess domain.Session, first domain.IssuedRefreshToken) error {
	const op = "create session"
	if first.SessionID != "" && first.SessionID != sess.ID() {
		return fmt.Errorf("postgres: %s: first refresh token names another session", op)
	}
	sid, ok := sessionUUID(sess.ID())
	if !ok {
		return fmt.Errorf("postgres: %s: id %q is not a canonical UUID", op, sess.ID())
	}
	uid, ok := userUUID(sess.UserID())
	if !ok {
		return fmt.Errorf("postgres: %s: user id %q is not a canonical UUID", op, sess.UserID())
	}
	return s.inTx(ctx, op, func(q *sqlcdb.Queries) error {
		err := q.CreateSession(ctx, sqlcdb.CreateSessionParams{
			ID:        sid,
			UserID:    uid,
			CreatedAt: sess.CreatedAt(),
			RevokedAt: nullTime(sess.RevokedAt()),
		})
		if err != nil {
			return s.translate(op, err)
		}
		err = q.InsertRefreshToken(ctx, sqlcdb.InsertRefreshTokenParams{
			TokenHash: first.Hash[:],
			SessionID: sid,
			IssuedAt:  sess.CreatedAt(),
			ExpiresAt: first.ExpiresAt,
		})
		return s.translate(op+": first refresh token", err)
	}, nil)
}

// RotateRefreshToken spends presented and stores next in its session with
// one statement (see the RotateRefreshToken query): one round trip, one
// implicit transaction, and the only decision point, so of N concurrent
// rotations of one token exactly one gets a row back. The others look the
// token up to tell why:
//
//   - unknown, or its session revoked         -> domain.ErrInvalidRefreshToken
//   - spent (even if also expired by now)     -> revoke the session,
//     domain.ErrRefreshTokenReused (RFC 9700 section 4.14.2)
//   - expired                                 -> domain.ErrInvalidRefreshToken
//
// The look-up and the revocation need no transaction: a spent token never
// becomes unspent, and revoking is idempotent.
//
// Concurrent losers therefore report reuse and revoke the session, the
// winner's new token included: strict reuse detection, by design.
func (s *Store) RotateRefreshToken(ctx context.Context, presented domain.RefreshTokenHash, next domain.IssuedRefreshToken, now time.Time) (domain.Session, domain.User, error) {
	const op = "rotate refresh token"
	row, err := s.q.RotateRefreshToken(ctx, sqlcdb.RotateRefreshTokenParams{
		Now:           now,
		TokenHash:     presented[:],
		NextHash:      next.Hash[:],
		NextExpiresAt: next.ExpiresAt,
	})
	if err == nil {
		return sessionWithOwner(sqlcdb.SessionWithOwnerRow(row))
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return domain.Session{}, domain.User{}, s.translate(op, err)
	}

	st, err := s.q.RefreshTokenState(ctx, presented[:])
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return domain.Session{}, domain.User{}, domain.ErrInvalidRefreshToken
	case err != nil:
		return domain.Session{}, domain.User{}, s.translate(op+": look up token", err)
	case st.RevokedAt != nil:
		return domain.Session{}, domain.User{}, domain.ErrInvalidRefreshToken
	case st.SpentAt != nil:
		err := s.q.RevokeSession(ctx, sqlcdb.RevokeSessionParams{Now: now, ID: st.SessionID})
		if err != nil {
			return domain.Session{}, domain.User{}, s.translate(op+": revoke reused session", err)
		}
		return domain.Session{}, domain.User{}, domain.ErrRefreshTokenReused
	default:
		// Expired; or, defensively, anything else the UPDATE refused.
		return domain.Session{}, domain.User{}, domain.ErrInvalidRefreshToken
	}
}

// RevokeSession sets revoked_at once; unknown or already revoked sessions are fine.
func (s *Store) RevokeSession(ctx context.Context, id domain.SessionID, now time.Time) error {
	sid, ok := sessionUUID(id)
	if !ok {
		return nil // names no session: nothing to revoke
	}
	err := s.q.RevokeSession(ctx, sqlcdb.RevokeSessionParams{Now: now, ID: sid})
	return s.translate("revoke session", err)
}

// RevokeSessionByRefreshToken revokes the session token belongs to, whether
// the token is live, spent or expired; an unknown token is fine.
func (s *Store) RevokeSessionByRefreshToken(ctx context.Context, token domain.RefreshTokenHash, now time.Time) error {
	err := s.q.RevokeSessionByRefreshToken(ctx, sqlcdb.RevokeSessionByRefreshTokenParams{Now: now, TokenHash: token[:]})
	return s.translate("revoke session by refresh token", err)
}

// RevokeUserSessions ends the user's active sessions in one statement and
// returns the row count; an id that is not a canonical UUID names no user.
func (s *Store) RevokeUserSessions(ctx context.Context, user domain.UserID, now time.Time) (int, error) {
	uid, ok := userUUID(user)
	if !ok {
		return 0, nil
	}
	n, err := s.q.RevokeUserSessions(ctx, sqlcdb.RevokeUserSessionsParams{Now: now, UserID: uid})
	if err != nil {
		return 0, s.translate("revoke user sessions", err)
	}
	return int(n), nil
}

// SessionByID returns the session, revoked or not, with its owner, in one
// query.
func (s *Store) SessionByID(ctx context.Context, id domain.SessionID) (domain.Session, domain.User, error) {
	sid, ok := sessionUUID(id)
	if !ok {
		return domain.Session{}, domain.User{}, fmt.Errorf("postgres: session by id: %w", domain.ErrNotFound)
	}
	row, err := s.q.SessionWithOwner(ctx, sid)
	if err != nil {
		return domain.Session{}, domain.User{}, s.translate("session by id", err)
	}
	return sessionWithOwner(row)
}

func sessionWithOwner(r sqlcdb.SessionWithOwnerRow) (domain.Session, domain.User, error) {
	var revoked time.Time
	if r.RevokedAt != nil {
		revoked = *r.RevokedAt
	}
	sess := domain.RehydrateSession(domain.SessionID(r.ID.String()), domain.UserID(r.UserID.String()), r.CreatedAt, revoked)
	owner, err := userFromRow(sqlcdb.UserByIDRow{
		ID:           r.UserID,
		Email:        r.Email,
		Name:         r.Name,
		Role:         r.Role,
		PasswordHash: r.PasswordHash,
		CreatedAt:    r.UserCreatedAt,
	})
	if err != nil {
		return domain.Session{}, domain.User{}, err
	}
	return sess, owner, nil
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
