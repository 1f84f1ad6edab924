package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/authd/authd/adapters/postgres/internal/sqlcdb"
	"github.com/authd/authd/domain"
)

// CreateSession stores sess and its first refresh token with one statement
// (see the CreateSession query), so it is atomic even outside a
// transaction. first joins sess whatever its SessionID says, but a
// SessionID naming another session is a caller bug and is refused.
func (r *repos) CreateSession(ctx context.Context, sess domain.Session, first domain.IssuedRefreshToken) error {
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
	client := sess.Client().Clean()
	err := r.q.CreateSession(ctx, sqlcdb.CreateSessionParams{
		ID:         sid,
		UserID:     uid,
		CreatedAt:  sess.CreatedAt(),
		LastUsedAt: sess.LastUsedAt(),
		RevokedAt:  nullTime(sess.RevokedAt()),
		Ip:         client.IP,
		UserAgent:  client.UserAgent,
		Amr:        domain.FormatMethods(sess.Methods()),
		TokenHash:  first.Hash[:],
		ExpiresAt:  first.ExpiresAt,
	})
	return r.translate(op, err)
}

// RefreshToken reads the token, its session and owner in one query. Inside
// WithinTx the query locks the token and session rows (FOR NO KEY UPDATE)
// until the rotation decided on them commits. Outside a transaction the
// lock would end with the statement and protect nothing, yet cost a WAL
// flush (see RefreshTokenUnlocked), so the read there is a plain one, as
// the session look-ups of a logout always were.
func (r *repos) RefreshToken(ctx context.Context, hash domain.RefreshTokenHash) (domain.RefreshTokenRecord, domain.Session, domain.User, error) {
	var row sqlcdb.RefreshTokenRow
	var err error
	if r.tx {
		row, err = r.q.RefreshToken(ctx, hash[:])
	} else {
		var plain sqlcdb.RefreshTokenUnlockedRow
		plain, err = r.q.RefreshTokenUnlocked(ctx, hash[:])
		row = sqlcdb.RefreshTokenRow(plain)
	}
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
	rec := domain.RefreshTokenRecord{Hash: hash, SessionID: sess.ID(), ExpiresAt: row.ExpiresAt.UTC()}
	if row.SpentAt != nil {
		rec.SpentAt = row.SpentAt.UTC()
	}
	return rec, sess, owner, nil
}

// Rotate stores rot with one statement (see the Rotate query; a sibling
// rotation, RotateSibling, spends nothing and requires the token spent). The caller
// decided on the token under RefreshToken's lock, so the spend cannot miss;
// if it does (a caller outside a transaction lost a race, or a bug), the
// statement wrote nothing and this is an error, never a silent success.
// A token of another session than rot.Session (a caller bug: the domain
// takes both from one RefreshToken read) is an error too; the statement
// then rotated the token within its own session, which inside WithinTx
// rolls back and outside leaves a consistent family.
func (r *repos) Rotate(ctx context.Context, rot domain.Rotation) error {
	const op = "rotate"
	if rot.Next.SessionID != "" && rot.Next.SessionID != rot.Session {
		return fmt.Errorf("postgres: %s: next refresh token names another session", op)
	}
	sid, ok := sessionUUID(rot.Session)
	if !ok {
		return fmt.Errorf("postgres: %s: session id %q is not a canonical UUID", op, rot.Session)
	}
	client := rot.Client.Clean()
	var (
		of  uuid.UUID
		err error
	)
	if rot.Spends() {
		of, err = r.q.Rotate(ctx, sqlcdb.RotateParams{
			At:            rot.At,
			Spent:         rot.Spent[:],
			Ip:            client.IP,
			UserAgent:     client.UserAgent,
			NextHash:      rot.Next.Hash[:],
			NextExpiresAt: rot.Next.ExpiresAt,
		})
	} else {
		of, err = r.q.RotateSibling(ctx, sqlcdb.RotateSiblingParams{
			At:            rot.At,
			Spent:         rot.Spent[:],
			Ip:            client.IP,
			UserAgent:     client.UserAgent,
			NextHash:      rot.Next.Hash[:],
			NextExpiresAt: rot.Next.ExpiresAt,
		})
	}
	switch {
	case errors.Is(err, pgx.ErrNoRows) && !rot.Spends():
		return fmt.Errorf("postgres: %s: a sibling of a token that is not spent", op)
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("postgres: %s: the spent token is not an unspent token", op)
	case err != nil:
		return r.translate(op, err)
	case of != sid:
		return fmt.Errorf("postgres: %s: the spent token belongs to another session than %s", op, rot.Session)
	}
	return nil
}

// SessionByID returns the session, revoked or not, with its owner, in one
// query.
func (r *repos) SessionByID(ctx context.Context, id domain.SessionID) (domain.Session, domain.User, error) {
	sid, ok := sessionUUID(id)
	if !ok {
		return domain.Session{}, domain.User{}, fmt.Errorf("postgres: session by id: %w", domain.ErrNotFound)
	}
	row, err := r.q.SessionWithOwner(ctx, sid)
	if err != nil {
		return domain.Session{}, domain.User{}, r.translate("session by id", err)
	}
	return sessionWithOwner(row)
}

// SessionsOfUser reads the user's usable sessions, newest first, in one query.
func (r *repos) SessionsOfUser(ctx context.Context, user domain.UserID, now time.Time, policy domain.SessionPolicy, limit int) ([]domain.Session, error) {
	if limit < 1 || limit > math.MaxInt32 {
		return nil, fmt.Errorf("postgres: sessions of user: limit %d out of range", limit)
	}
	uid, ok := userUUID(user)
	if !ok {
		return nil, nil
	}
	rows, err := r.q.UsableSessionsOfUser(ctx, sqlcdb.UsableSessionsOfUserParams{
		UserID:       uid,
		UsedAfter:    nullTime(policy.UsedAfter(now)),
		CreatedAfter: nullTime(policy.CreatedAfter(now)),
		MaxRows:      int32(limit),
	})
	if err != nil {
		return nil, r.translate("sessions of user", err)
	}
	out := make([]domain.Session, 0, len(rows))
	for _, row := range rows {
		out = append(out, sessionFromRow(row))
	}
	return out, nil
}

// RevokeSession sets revoked_at once; unknown or already revoked sessions are fine.
func (r *repos) RevokeSession(ctx context.Context, id domain.SessionID, now time.Time) error {
	sid, ok := sessionUUID(id)
	if !ok {
		return nil // names no session: nothing to revoke
	}
	err := r.q.RevokeSession(ctx, sqlcdb.RevokeSessionParams{Now: now, ID: sid})
	return r.translate("revoke session", err)
}

// RevokeSessions ends the user's active sessions but keep in one statement
// and returns the row count. keep need not be a UUID: then it names no
// session and nothing is spared; an id that is not a UUID names no user.
func (r *repos) RevokeSessions(ctx context.Context, user domain.UserID, keep domain.SessionID, now time.Time) (int, error) {
	uid, ok := userUUID(user)
	if !ok {
		return 0, nil
	}
	var spare *uuid.UUID
	if kid, ok := sessionUUID(keep); ok {
		spare = &kid
	}
	n, err := r.q.RevokeSessions(ctx, sqlcdb.RevokeSessionsParams{Now: now, UserID: uid, Keep: spare})
	if err != nil {
		return 0, r.translate("revoke sessions", err)
	}
	return int(n), nil
}

// sessionWithOwner splits a session-with-owner row (SessionWithOwner, and
// RefreshToken's columns copied into one).
func sessionWithOwner(r sqlcdb.SessionWithOwnerRow) (domain.Session, domain.User, error) {
	sess := sessionFromRow(sqlcdb.UsableSessionsOfUserRow{
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

// sessionFromRow rebuilds a session from the columns every session query
// returns.
func sessionFromRow(r sqlcdb.UsableSessionsOfUserRow) domain.Session {
	var revoked time.Time
	if r.RevokedAt != nil {
		revoked = *r.RevokedAt
	}
	return domain.RehydrateSession(domain.SessionID(r.ID.String()), domain.UserID(r.UserID.String()),
		r.CreatedAt, r.LastUsedAt, revoked, domain.ClientInfo{IP: r.Ip, UserAgent: r.UserAgent},
		domain.ParseMethods(r.Amr))
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
