package application

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/authd/authd/domain"
)

// MaxListedSessions is the most sessions ListSessions returns: the newest.
const MaxListedSessions = 100

// SessionView is one of the caller's sessions as the caller may see it.
type SessionView struct {
	ID         domain.SessionID
	CreatedAt  time.Time
	LastUsedAt time.Time
	UserAgent  string
	IP         string
	// Current: the session of the access token that asked.
	Current bool
}

// ListSessions returns the caller's usable sessions (not revoked, not idle,
// not too old), newest first, at most MaxListedSessions. The caller's own
// session must be usable (else domain.ErrInvalidToken, as for CurrentUser).
func (s *Service) ListSessions(ctx context.Context, p Principal) ([]SessionView, error) {
	now := s.clock.Now()
	if _, _, err := s.liveSession(ctx, p, now); err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	sessions, err := s.sessions.SessionsOfUser(ctx, p.UserID, now, s.sessionPolicy, MaxListedSessions)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	views := make([]SessionView, len(sessions))
	for i, sess := range sessions {
		views[i] = SessionView{
			ID: sess.ID(), CreatedAt: sess.CreatedAt(), LastUsedAt: sess.LastUsedAt(),
			UserAgent: sess.UserAgent(), IP: sess.IP(), Current: sess.ID() == p.SessionID,
		}
	}
	return views, nil
}

// RevokeSessionInput names one of the caller's sessions to end.
type RevokeSessionInput struct {
	Principal Principal
	// SessionID is as the client sent it (a path segment): anything that
	// is not one of the caller's session ids is domain.ErrNotFound.
	SessionID string
	Client    domain.ClientInfo
}

// RevokeSession ends one of the caller's sessions, the current one
// included (that is a logout). A session id that does not exist, is
// malformed or belongs to another account is domain.ErrNotFound, one
// answer for all three, so ids cannot be probed. Revoking an already ended
// session of the caller's is not an error.
func (s *Service) RevokeSession(ctx context.Context, in RevokeSessionInput) error {
	now := s.clock.Now()
	if _, _, err := s.liveSession(ctx, in.Principal, now); err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	id, err := domain.ParseSessionID(in.SessionID)
	if err != nil {
		return fmt.Errorf("revoke session: %w", domain.ErrNotFound)
	}
	if err := s.sessions.RevokeUserSession(ctx, in.Principal.UserID, id, now); err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	s.record(ctx, now, domain.AuditEvent{
		Type: domain.EventSessionRevoked, UserID: in.Principal.UserID, SessionID: id,
		Client: in.Client, Detail: detailByOwner,
	})
	return nil
}

// ChangePasswordInput is a password change by a logged-in user.
type ChangePasswordInput struct {
	Principal       Principal
	CurrentPassword string
	NewPassword     string
	Client          domain.ClientInfo
}

// ChangePassword replaces the caller's password and ends every other
// session of the account; the caller's session stays, so the client that
// changed the password stays logged in. The current password is checked
// under the same throttle as a login of the account's email (refused:
// *domain.ThrottledError) and a wrong one is domain.ErrInvalidCredentials;
// the new one must pass the sign-up policy (*domain.ValidationError on
// "new_password"; a missing current password is "current_password").
//
// The store swaps the hash and revokes the other sessions in one
// transaction (ports.SessionRepository.ChangePassword), and only if the
// hash is still the one the current password was verified against: no
// login verified under the old password keeps a session, and no concurrent
// change is overwritten. When the hash changed in between (another change,
// or a login's rehash) the current password is checked once more against
// the stored hash; wrong by then, the change is domain.ErrInvalidCredentials.
func (s *Service) ChangePassword(ctx context.Context, in ChangePasswordInput) error {
	v := &domain.ValidationError{}
	current, err := domain.LoginPassword(in.CurrentPassword)
	if err := mergeRenamed(v, err, "current_password"); err != nil {
		return err
	}
	next, err := domain.NewPassword(in.NewPassword)
	if err := mergeRenamed(v, err, "new_password"); err != nil {
		return err
	}
	if err := v.Err(); err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	client := in.Client.Clean()
	now := s.clock.Now()
	_, u, err := s.liveSession(ctx, in.Principal, now)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}

	key := domain.ThrottleKeyFor(u.Email())
	if err := s.claimAttempt(ctx, key, u.ID(), client, detailAtPasswordChange); err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	verdict, err := s.verifyClaimed(ctx, key, current, u.PasswordHash())
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	if !verdict.Match {
		s.record(ctx, s.clock.Now(), domain.AuditEvent{
			Type: domain.EventLoginFailed, UserID: u.ID(), SessionID: in.Principal.SessionID,
			Client: client, Detail: detailWrongCurrentPassword,
		})
		return fmt.Errorf("change password: %w", domain.ErrInvalidCredentials)
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return fmt.Errorf("change password: hash password: %w", err)
	}
	now = s.clock.Now()
	_, err = s.sessions.ChangePassword(ctx, u.ID(), u.PasswordHash(), hash, in.Principal.SessionID, now)
	if errors.Is(err, domain.ErrPasswordChanged) {
		var verified string
		var match bool
		u, verified, match, err = s.reverify(ctx, u.ID(), current)
		if err != nil {
			return fmt.Errorf("change password: %w", err)
		}
		if !match {
			s.record(ctx, s.clock.Now(), domain.AuditEvent{
				Type: domain.EventLoginFailed, UserID: u.ID(), SessionID: in.Principal.SessionID,
				Client: client, Detail: detailWrongCurrentPassword,
			})
			return fmt.Errorf("change password: %w", domain.ErrPasswordChanged)
		}
		now = s.clock.Now()
		_, err = s.sessions.ChangePassword(ctx, u.ID(), verified, hash, in.Principal.SessionID, now)
	}
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	s.record(ctx, now, domain.AuditEvent{
		Type: domain.EventPasswordChanged, UserID: u.ID(), SessionID: in.Principal.SessionID,
		Client: client, Detail: detailOtherSessionsRevoked,
	})
	return nil
}

// mergeRenamed merges a single-field validation failure into v under the
// name field: the domain names its password field "password", the request
// has two of them.
func mergeRenamed(v *domain.ValidationError, err error, field string) error {
	var fe *domain.ValidationError
	if err == nil || !errors.As(err, &fe) {
		return err
	}
	for _, f := range fe.Fields {
		msg := f.Message
		if rest, ok := strings.CutPrefix(msg, "password"); ok {
			msg = field + rest
		}
		v.Add(field, f.Code, msg)
	}
	return nil
}
