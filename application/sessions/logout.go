package sessions

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authd/authd/application"
	"github.com/authd/authd/domain"
)

// ErrNothingToRevoke: logout named neither a refresh token nor an access token.
var ErrNothingToRevoke = errors.New("logout: a refresh token or a bearer access token is required")

// LogoutScope says which of the caller's sessions a logout ends.
type LogoutScope string

const (
	// LogoutThis ends the session(s) named by the request: the refresh
	// token's, the bearer's, or both. The default.
	LogoutThis LogoutScope = ""
	// LogoutOthers ends every other session of the caller, keeping the
	// one that asked ("log out my other devices").
	LogoutOthers LogoutScope = "others"
	// LogoutGlobal ends every session of the caller, the asking one included.
	LogoutGlobal LogoutScope = "global"
)

// ParseLogoutScope accepts "", "this" (the same), "others" and "global";
// anything else is a *domain.ValidationError on the field "scope".
func ParseLogoutScope(s string) (LogoutScope, error) {
	switch s {
	case "", "this":
		return LogoutThis, nil
	case string(LogoutOthers), string(LogoutGlobal):
		return LogoutScope(s), nil
	}
	v := &domain.ValidationError{}
	v.Add("scope", domain.CodeInvalid, "scope must be others or global")
	return "", v
}

// LogoutInput names the session(s) to end: by refresh token, by the
// session of an already verified access token, or both.
type LogoutInput struct {
	RefreshToken string
	// Principal is set when the request carried a valid bearer token.
	Principal *application.Principal
	// Scope widens the logout to the caller's other or all sessions; the
	// zero value is LogoutThis. An unknown scope is a validation error.
	Scope  LogoutScope
	Client domain.ClientInfo
}

// Logout revokes sessions on the server, not just in the client.
//
// With LogoutThis it is idempotent: an unknown, spent or already revoked
// token is not an error, so a retried logout never fails.
//
// LogoutOthers and LogoutGlobal act for a user, who must be proven: by the
// Principal, whose session must still be usable (else
// domain.ErrInvalidToken), or, without one, by a live refresh token (unspent,
// unexpired, its session usable; else domain.ErrInvalidRefreshToken). That
// session is the one LogoutOthers keeps. LogoutOthers is idempotent (a
// second call finds nothing left to end); LogoutGlobal ends the asking
// session too, so a retry with the same credential is refused like any
// dead credential, the sessions being ended either way.
func (s *Service) Logout(ctx context.Context, in LogoutInput) error {
	if in.RefreshToken == "" && in.Principal == nil {
		return ErrNothingToRevoke
	}
	if _, err := ParseLogoutScope(string(in.Scope)); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	client := in.Client.Clean()
	now := s.clock.Now()
	if in.Scope == LogoutThis {
		return s.logoutThis(ctx, in, client, now)
	}

	user, current, err := s.logoutCaller(ctx, in, now)
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	detail, keep := application.DetailLogoutGlobal, domain.SessionID("")
	if in.Scope == LogoutOthers {
		detail, keep = application.DetailLogoutOthers, current
	}
	if _, err := s.sessions.RevokeSessions(ctx, user, keep, now); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	s.audit.Record(ctx, domain.AuditEvent{At: now, Type: domain.EventLoggedOut, UserID: user, SessionID: current, Client: client, Detail: detail})
	return nil
}

// logoutThis ends the session of the refresh token and that of the bearer.
func (s *Service) logoutThis(ctx context.Context, in LogoutInput, client domain.ClientInfo, now time.Time) error {
	if in.RefreshToken != "" {
		// A malformed token names no session: nothing to revoke by it.
		if hash, err := domain.ParseRefreshToken(in.RefreshToken); err == nil {
			_, ended, _, err := s.sessions.RefreshToken(ctx, hash)
			switch {
			case errors.Is(err, domain.ErrNotFound):
			case err != nil:
				return fmt.Errorf("logout: %w", err)
			default:
				if err := s.sessions.RevokeSession(ctx, ended.ID(), now); err != nil {
					return fmt.Errorf("logout: %w", err)
				}
				if in.Principal == nil || in.Principal.SessionID != ended.ID() {
					s.audit.Record(ctx, domain.AuditEvent{
						At: now, Type: domain.EventLoggedOut, UserID: ended.UserID(), SessionID: ended.ID(),
						Client: client, Detail: application.DetailLogoutThisSession,
					})
				}
			}
		}
	}
	if in.Principal != nil {
		if err := s.sessions.RevokeSession(ctx, in.Principal.SessionID, now); err != nil {
			return fmt.Errorf("logout: %w", err)
		}
		s.audit.Record(ctx, domain.AuditEvent{
			At: now, Type: domain.EventLoggedOut, UserID: in.Principal.UserID, SessionID: in.Principal.SessionID,
			Client: client, Detail: application.DetailLogoutThisSession,
		})
	}
	return nil
}

// logoutCaller proves who asks for a wide logout and which session asks.
func (s *Service) logoutCaller(ctx context.Context, in LogoutInput, now time.Time) (domain.UserID, domain.SessionID, error) {
	if in.Principal != nil {
		session, _, err := s.Live(ctx, *in.Principal)
		if err != nil {
			return "", "", err
		}
		return session.UserID(), session.ID(), nil
	}
	hash, err := domain.ParseRefreshToken(in.RefreshToken)
	if err != nil {
		return "", "", err
	}
	rec, session, _, err := s.sessions.RefreshToken(ctx, hash)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return "", "", domain.ErrInvalidRefreshToken
	case err != nil:
		return "", "", err
	case !rec.Live(now), !s.policy.Usable(session, now):
		return "", "", domain.ErrInvalidRefreshToken
	}
	return session.UserID(), session.ID(), nil
}
