package postgres

import (
	"context"
	"errors"
	"fmt"
	"github.com/google/uuid"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/authd/authd/adapters/postgres/internal/sqlcdb"
	"github.com/authd/authd/domain"
)

// CreateSession stores s and its first refresh token in one transaction.
// first joins s whatever its SessionID says, but a SessionID naming another
// session is a caller bug and is refused. With a verifiedHash the
// transaction first locks the owner's row FOR SHARE, provided its hash
// still is verifiedHash (see the LockUserWithHash query), and holds the
// lock until the session is committed; no row is domain.ErrPasswordChanged
// (or domain.ErrNotFound for an unknown user) and nothing is stored.
func (s *Store) CreateSession(ctx context.Context, sess domain.Session, first domain.IssuedRefreshToken, verifiedHash string) error {
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
		if verifiedHash != "" {
			_, err := q.LockUserWithHash(ctx, sqlcdb.LockUserWithHashParams{ID: uid, PasswordHash: verifiedHash})
			if errors.Is(err, pgx.ErrNoRows) {
				return s.noSwap(ctx, q, op, uid)
			}
			if err != nil {
				return s.translate(op+": lock user", err)
			}
		}
		client := sess.Client().Clean()
		err := q.CreateSession(ctx, sqlcdb.CreateSessionParams{
			ID:         sid,
			UserID:     uid,
			CreatedAt:  sess.CreatedAt(),
			LastUsedAt: sess.LastUsedAt(),
			RevokedAt:  nullTime(sess.RevokedAt()),
			Ip:         client.IP,
			UserAgent:  client.UserAgent,
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
//   - expired, or its session idle or too old -> domain.ErrInvalidRefreshToken
//
// The look-up and the revocation need no transaction: a spent token never
// becomes unspent, and revoking is idempotent.
//
// Concurrent losers therefore report reuse and revoke the session, the
// winner's new token included: strict reuse detection, by design.
func (s *Store) RotateRefreshToken(ctx context.Context, presented domain.RefreshTokenHash, next domain.IssuedRefreshToken, now time.Time, policy domain.SessionPolicy, client domain.ClientInfo, event *domain.AuditEvent) (domain.Session, domain.User, error) {
	const op = "rotate refresh token"
	client = client.Clean()
	var eventID *uuid.UUID
	var eventType, eventDetail string
	if event != nil {
		id, ok := eventUUID(event.ID)
		if !ok {
			return domain.Session{}, domain.User{}, fmt.Errorf("postgres: %s: event id %q is not a canonical UUID", op, event.ID)
		}
		eventID, eventType, eventDetail = &id, event.Type.String(), event.Detail
	}
	var maxAge *int64
	if policy.MaxAge > 0 {
		us := policy.MaxAge.Microseconds()
		maxAge = &us
	}
	row, err := s.q.RotateRefreshToken(ctx, sqlcdb.RotateRefreshTokenParams{
		Now:           now,
		TokenHash:     presented[:],
		UsedAfter:     nullTime(policy.UsedAfter(now)),
		CreatedAfter:  nullTime(policy.CreatedAfter(now)),
		Ip:            client.IP,
		UserAgent:     client.UserAgent,
		NextHash:      next.Hash[:],
		MaxAgeUs:      maxAge,
		NextExpiresAt: next.ExpiresAt,
		EventID:       eventID,
		EventType:     eventType,
		EventDetail:   eventDetail,
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
		revoked := sessionFromRow(sqlcdb.SessionByLiveRefreshTokenRow{
			ID: st.SessionID, UserID: st.UserID, CreatedAt: st.CreatedAt, LastUsedAt: st.LastUsedAt,
			RevokedAt: &now, Ip: st.Ip, UserAgent: st.UserAgent,
		})
		return revoked, domain.User{}, domain.ErrRefreshTokenReused
	default:
		// Expired, idle or too old; or, defensively, anything else the
		// statement refused.
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
// the token is live, spent or expired, and returns it; an unknown token is fine.
func (s *Store) RevokeSessionByRefreshToken(ctx context.Context, token domain.RefreshTokenHash, now time.Time) (domain.Session, error) {
	row, err := s.q.RevokeSessionByRefreshToken(ctx, sqlcdb.RevokeSessionByRefreshTokenParams{Now: now, TokenHash: token[:]})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return domain.Session{}, nil
	case err != nil:
		return domain.Session{}, s.translate("revoke session by refresh token", err)
	}
	return sessionFromRow(sqlcdb.SessionByLiveRefreshTokenRow(row)), nil
}

// SessionByRefreshToken returns the session of a live token.
func (s *Store) SessionByRefreshToken(ctx context.Context, token domain.RefreshTokenHash, now time.Time) (domain.Session, error) {
	row, err := s.q.SessionByLiveRefreshToken(ctx, sqlcdb.SessionByLiveRefreshTokenParams{TokenHash: token[:], Now: now})
	if err != nil {
		return domain.Session{}, s.translate("session by refresh token", err)
	}
	return sessionFromRow(row), nil
}

// SessionsOfUser reads the user's usable sessions, newest first, in one query.
func (s *Store) SessionsOfUser(ctx context.Context, user domain.UserID, now time.Time, policy domain.SessionPolicy, limit int) ([]domain.Session, error) {
	if limit < 1 || limit > math.MaxInt32 {
		return nil, fmt.Errorf("postgres: sessions of user: limit %d out of range", limit)
	}
	uid, ok := userUUID(user)
	if !ok {
		return nil, nil
	}
	rows, err := s.q.UsableSessionsOfUser(ctx, sqlcdb.UsableSessionsOfUserParams{
		UserID:       uid,
		UsedAfter:    nullTime(policy.UsedAfter(now)),
		CreatedAfter: nullTime(policy.CreatedAfter(now)),
		MaxRows:      int32(limit),
	})
	if err != nil {
		return nil, s.translate("sessions of user", err)
	}
	out := make([]domain.Session, 0, len(rows))
	for _, r := range rows {
		out = append(out, sessionFromRow(sqlcdb.SessionByLiveRefreshTokenRow(r)))
	}
	return out, nil
}

// RevokeUserSession ends the user's session id in one statement; zero rows
// (no such session, or another user's) is domain.ErrNotFound.
func (s *Store) RevokeUserSession(ctx context.Context, user domain.UserID, id domain.SessionID, now time.Time) error {
	const op = "revoke user session"
	uid, uok := userUUID(user)
	sid, sok := sessionUUID(id)
	if !uok || !sok {
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
	}
	n, err := s.q.RevokeUserSession(ctx, sqlcdb.RevokeUserSessionParams{Now: now, ID: sid, UserID: uid})
	if err != nil {
		return s.translate(op, err)
	}
	if n == 0 {
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
	}
	return nil
}

// RevokeOtherSessions ends the user's active sessions but keep, in one
// statement; keep need not be a UUID (then nothing is spared).
func (s *Store) RevokeOtherSessions(ctx context.Context, user domain.UserID, keep domain.SessionID, now time.Time) (int, error) {
	uid, ok := userUUID(user)
	if !ok {
		return 0, nil
	}
	kid, ok := sessionUUID(keep)
	if !ok {
		return s.RevokeUserSessions(ctx, user, now)
	}
	n, err := s.q.RevokeOtherSessions(ctx, sqlcdb.RevokeOtherSessionsParams{Now: now, UserID: uid, Keep: kid})
	if err != nil {
		return 0, s.translate("revoke other sessions", err)
	}
	return int(n), nil
}

// ChangePassword swaps the hash (the ChangePasswordHash query) and revokes
// the other sessions in one READ COMMITTED transaction. The UPDATE's row
// lock is held until commit, so a login's CreateSession, whose FOR SHARE
// conflicts with it, either committed its session before the UPDATE got
// the lock (the revocation, a later statement with a later snapshot, sees
// and ends it) or waits and then finds the new hash. A stale oldHash
// rolls back: domain.ErrPasswordChanged, or domain.ErrNotFound for an
// unknown user.
func (s *Store) ChangePassword(ctx context.Context, user domain.UserID, oldHash, newHash string, keep domain.SessionID, now time.Time) (int, error) {
	const op = "change password"
	uid, ok := userUUID(user)
	if !ok {
		return 0, fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
	}
	kid, spare := sessionUUID(keep)
	var revoked int64
	err := s.inTx(ctx, op, func(q *sqlcdb.Queries) error {
		n, err := q.ChangePasswordHash(ctx, sqlcdb.ChangePasswordHashParams{NewHash: newHash, Now: now, ID: uid, OldHash: oldHash})
		if err != nil {
			return s.translate(op, err)
		}
		if n == 0 {
			return s.noSwap(ctx, q, op, uid)
		}
		if spare {
			revoked, err = q.RevokeOtherSessions(ctx, sqlcdb.RevokeOtherSessionsParams{Now: now, UserID: uid, Keep: kid})
		} else {
			revoked, err = q.RevokeUserSessions(ctx, sqlcdb.RevokeUserSessionsParams{Now: now, UserID: uid})
		}
		return s.translate(op+": revoke other sessions", err)
	}, nil)
	if err != nil {
		return 0, err
	}
	return int(revoked), nil
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
	sess := sessionFromRow(sqlcdb.SessionByLiveRefreshTokenRow{
		ID: r.ID, UserID: r.UserID, CreatedAt: r.CreatedAt, LastUsedAt: r.LastUsedAt,
		RevokedAt: r.RevokedAt, Ip: r.Ip, UserAgent: r.UserAgent,
	})
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

// sessionFromRow rebuilds a session from the columns every session query
// returns (the row types of those queries convert to this one).
func sessionFromRow(r sqlcdb.SessionByLiveRefreshTokenRow) domain.Session {
	var revoked time.Time
	if r.RevokedAt != nil {
		revoked = *r.RevokedAt
	}
	return domain.RehydrateSession(domain.SessionID(r.ID.String()), domain.UserID(r.UserID.String()),
		r.CreatedAt, r.LastUsedAt, revoked, domain.ClientInfo{IP: r.Ip, UserAgent: r.UserAgent})
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
