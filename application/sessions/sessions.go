// Package sessions opens sessions from completed authentications and runs
// their life: refresh-token rotation, the caller's session list,
// revocation and logout, and the check that an access token's session is
// still alive.
package sessions

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authd/authd/application"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// Service runs the session use cases.
type Service struct {
	tx       ports.Transactor
	sessions ports.Sessions
	issuer   ports.TokenIssuer
	clock    ports.Clock
	ids      ports.IDGenerator
	random   ports.RandomSource
	audit    *application.Recorder

	refreshTTL time.Duration
	policy     domain.SessionPolicy
}

// Deps are the ports the session use cases need; all are required.
type Deps struct {
	Tx       ports.Transactor
	Sessions ports.Sessions
	Issuer   ports.TokenIssuer
	Clock    ports.Clock
	IDs      ports.IDGenerator
	Random   ports.RandomSource
	Audit    *application.Recorder
}

// New builds the session use cases under p.
func New(d Deps, p application.Policies) (*Service, error) {
	if d.Tx == nil || d.Sessions == nil || d.Issuer == nil || d.Clock == nil || d.IDs == nil || d.Random == nil {
		return nil, errors.New("sessions: every dependency is required")
	}
	return &Service{
		tx: d.Tx, sessions: d.Sessions, issuer: d.Issuer, clock: d.Clock, ids: d.IDs,
		random: d.Random, audit: d.Audit, refreshTTL: p.RefreshTTL, policy: p.Session,
	}, nil
}

// Open opens a session for auth and returns its first tokens; the login
// is recorded with it. When auth proved a password, the session is stored
// only while the account's hash is still the one the password was checked
// against (ports.Passwords.HoldPassword): a password change committed
// since then either revokes this session or makes Open fail with
// domain.ErrPasswordChanged.
func (s *Service) Open(ctx context.Context, auth domain.Authentication, client domain.ClientInfo) (application.TokenPair, error) {
	return s.OpenWith(ctx, auth, client, nil)
}

// OpenWith is Open with also, when not nil, run first inside the session's
// transaction: what must be spent for the session to open (a login
// challenge, a one-time code) is spent if and only if it opens.
func (s *Service) OpenWith(ctx context.Context, auth domain.Authentication, client domain.ClientInfo, also func(ports.Stores) error) (application.TokenPair, error) {
	if auth.IsZero() {
		return application.TokenPair{}, errors.New("open session: no authentication")
	}
	now := s.clock.Now()
	u := auth.User()
	session := domain.NewSession(s.ids.NewSessionID(), auth, now, client)
	ttl := s.policy.CapExpiry(now, now.Add(s.refreshTTL)).Sub(now)
	refresh, err := domain.NewRefreshToken(s.random, now, ttl)
	if err != nil {
		return application.TokenPair{}, fmt.Errorf("open session: %w", err)
	}
	err = s.tx.WithinTx(ctx, func(st ports.Stores) error {
		if also != nil {
			if err := also(st); err != nil {
				return err
			}
		}
		if hash := auth.PasswordHash(); hash != "" {
			if err := st.Passwords.HoldPassword(ctx, u.ID(), hash); err != nil {
				return err
			}
		}
		if err := st.Sessions.CreateSession(ctx, session, refresh.Record(session.ID())); err != nil {
			return err
		}
		return s.audit.InTx(ctx, st, domain.AuditEvent{
			At: now, Type: domain.EventLoginSucceeded, UserID: u.ID(), SessionID: session.ID(), Client: session.Client(),
		})
	})
	if err != nil {
		return application.TokenPair{}, fmt.Errorf("open session: %w", err)
	}
	return s.issuePair(ctx, u, session, refresh, refresh.ExpiresAt(), now)
}

// issuePair mints an access token for the session and packs it with an
// already minted refresh token, which expires at tokenExpiry; session is
// the session as it stands after this use.
func (s *Service) issuePair(ctx context.Context, u domain.User, session domain.Session, refresh domain.RefreshToken, tokenExpiry, now time.Time) (application.TokenPair, error) {
	access, claims, err := s.issuer.IssueAccessToken(ctx, domain.AccessClaims{
		UserID: u.ID(), SessionID: session.ID(), Role: u.Role(), Methods: session.Methods(), AuthTime: session.AuthTime(),
	})
	if err != nil {
		return application.TokenPair{}, fmt.Errorf("issue access token: %w", err)
	}
	return application.TokenPair{
		AccessToken:      access,
		AccessExpiresIn:  claims.ExpiresAt.Sub(claims.IssuedAt),
		RefreshToken:     refresh.Plaintext(),
		RefreshExpiresIn: s.refreshEnd(session, tokenExpiry).Sub(now),
		User:             u,
	}, nil
}

// refreshEnd is when a refresh token expiring at tokenExpiry stops working
// if it is not used: at its own expiry, when the session goes idle (its
// last use plus the idle timeout), or at the session's maximum age,
// whichever comes first. The client is told this, not the token's TTL,
// which the idle timeout usually cuts short.
func (s *Service) refreshEnd(session domain.Session, tokenExpiry time.Time) time.Time {
	end := s.policy.CapExpiry(session.CreatedAt(), tokenExpiry)
	if s.policy.IdleTimeout > 0 {
		if idle := session.LastUsedAt().Add(s.policy.IdleTimeout); idle.Before(end) {
			end = idle
		}
	}
	return end
}

// CurrentUser returns the caller's account once its session is known to
// be usable: a logged-out, idle or too old session's access token is
// refused here at once (domain.ErrInvalidToken). One read of the store.
func (s *Service) CurrentUser(ctx context.Context, p application.Principal) (domain.User, error) {
	_, owner, err := s.Live(ctx, p)
	if err != nil {
		return domain.User{}, fmt.Errorf("current user: %w", err)
	}
	return owner, nil
}

// Live returns the principal's session and its owner when the session is
// usable now and is the principal's; otherwise domain.ErrInvalidToken (a
// storage failure stays what it is). Everything done for a bearer on the
// server side starts here, so an access token outliving its session's
// logout cannot manage sessions or the password.
func (s *Service) Live(ctx context.Context, p application.Principal) (domain.Session, domain.User, error) {
	session, owner, err := s.sessions.SessionByID(ctx, p.SessionID)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return domain.Session{}, domain.User{}, fmt.Errorf("session or account gone: %w", domain.ErrInvalidToken)
	case err != nil:
		return domain.Session{}, domain.User{}, err
	case session.UserID() != p.UserID || owner.ID() != p.UserID:
		return domain.Session{}, domain.User{}, fmt.Errorf("session of another account: %w", domain.ErrInvalidToken)
	case !session.Active():
		return domain.Session{}, domain.User{}, fmt.Errorf("session ended: %w", domain.ErrInvalidToken)
	case !s.policy.Usable(session, s.clock.Now()):
		return domain.Session{}, domain.User{}, fmt.Errorf("session idle or too old: %w", domain.ErrInvalidToken)
	}
	return session, owner, nil
}
