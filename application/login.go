package application

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// LoginInput is a login request as the transport received it.
type LoginInput struct {
	Email    string
	Password string
	// Client is who asked, for the session and the audit log.
	Client domain.ClientInfo
}

// Login checks the credentials and opens a session. An unknown email and a
// wrong password give the same domain.ErrInvalidCredentials after the same
// work (one password hash); a storage or hashing failure is never reported
// as bad credentials.
//
// Every attempt first claims a slot of the email's brute-force throttle
// (Config.Login*): refused, it is a *domain.ThrottledError
// (domain.ErrThrottled, with RetryAfter) and costs no password hash;
// unknown emails are throttled exactly like known ones. The claim counts
// the attempt as a failure before the password is checked, so concurrent
// guesses cannot overrun the limit; a successful login resets the count.
func (s *Service) Login(ctx context.Context, in LoginInput) (TokenPair, error) {
	v := &domain.ValidationError{}
	email, err := domain.NewEmail(in.Email)
	if err := domain.MergeValidation(v, err); err != nil {
		return TokenPair{}, err
	}
	password, err := domain.LoginPassword(in.Password)
	if err := domain.MergeValidation(v, err); err != nil {
		return TokenPair{}, err
	}
	if err := v.Err(); err != nil {
		return TokenPair{}, fmt.Errorf("login: %w", err)
	}
	if err := s.admit(); err != nil {
		return TokenPair{}, fmt.Errorf("login: %w", err)
	}
	client := in.Client.Clean()

	u, err := s.users.UserByEmail(ctx, email)
	known := err == nil
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return TokenPair{}, fmt.Errorf("login: %w", err)
	}
	key := domain.ThrottleKeyFor(email)
	if err := s.claimAttempt(ctx, key, u.ID(), client, detailAtLogin); err != nil {
		return TokenPair{}, fmt.Errorf("login: %w", err)
	}

	if !known {
		if _, err := s.verifyClaimed(ctx, key, password, s.dummyHash); err != nil {
			return TokenPair{}, fmt.Errorf("login: %w", err)
		}
		s.record(ctx, s.clock.Now(), domain.AuditEvent{Type: domain.EventLoginFailed, Client: client, Detail: detailUnknownEmail})
		return TokenPair{}, fmt.Errorf("login: %w", domain.ErrInvalidCredentials)
	}

	verdict, err := s.verifyClaimed(ctx, key, password, u.PasswordHash())
	if err != nil {
		return TokenPair{}, fmt.Errorf("login: %w", err)
	}
	if !verdict.Match {
		s.record(ctx, s.clock.Now(), domain.AuditEvent{Type: domain.EventLoginFailed, UserID: u.ID(), Client: client, Detail: detailWrongPassword})
		return TokenPair{}, fmt.Errorf("login: %w", domain.ErrInvalidCredentials)
	}
	verified := u.PasswordHash()
	if verdict.NeedsRehash {
		verified = s.rehash(ctx, u.ID(), password, verified)
	}

	now := s.clock.Now()
	session := domain.NewSession(s.ids.NewSessionID(), u.ID(), now, client)
	refresh, err := domain.NewRefreshToken(s.random, now, min(s.refreshTTL, s.sessionPolicy.MaxAge))
	if err != nil {
		return TokenPair{}, fmt.Errorf("login: %w", err)
	}
	// The store creates the session only if the hash is still the one the
	// password was verified against: a password change committed since then
	// either revokes this session (it was committed first) or makes the
	// store refuse it.
	err = s.sessions.CreateSession(ctx, session, refresh.Record(session.ID()), verified)
	if errors.Is(err, domain.ErrPasswordChanged) {
		// The hash changed after it was read: a password change, or another
		// login's rehash of the same password. One more check against the
		// stored hash tells them apart; should it change yet again, the
		// login fails.
		var match bool
		u, verified, match, err = s.reverify(ctx, u.ID(), password)
		if err != nil {
			return TokenPair{}, fmt.Errorf("login: %w", err)
		}
		if !match {
			s.record(ctx, s.clock.Now(), domain.AuditEvent{Type: domain.EventLoginFailed, UserID: u.ID(), Client: client, Detail: detailPasswordChangedDuringLogin})
			return TokenPair{}, fmt.Errorf("login: %w", domain.ErrPasswordChanged)
		}
		err = s.sessions.CreateSession(ctx, session, refresh.Record(session.ID()), verified)
	}
	if err != nil {
		return TokenPair{}, fmt.Errorf("login: create session: %w", err)
	}
	pair, err := s.issuePair(ctx, u, session.ID(), refresh, refresh.ExpiresAt(), now)
	if err != nil {
		return TokenPair{}, fmt.Errorf("login: %w", err)
	}
	s.record(ctx, now, domain.AuditEvent{Type: domain.EventLoginSucceeded, UserID: u.ID(), SessionID: session.ID(), Client: client})
	return pair, nil
}

// detailPasswordChangedDuringLogin: the password was right when checked,
// but a password change committed before the session was stored.
const detailPasswordChangedDuringLogin = "password changed during login"

// rehash stores a hash of password in today's format in place of old, the
// hash it was verified against, and returns the hash the login's session is
// to be checked against. Best effort: the login is already proven, so a
// failed upgrade (retried on the next login) must not fail it. The store
// swaps only over old, so a rehash never reverts a password change
// committed meanwhile; then (domain.ErrPasswordChanged) old is returned and
// CreateSession decides.
func (s *Service) rehash(ctx context.Context, id domain.UserID, password domain.Password, old string) string {
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return old
	}
	if err := s.users.UpdatePasswordHash(ctx, id, old, hash); err != nil {
		return old
	}
	return hash
}

// reverify reads the user again and checks password against the stored
// hash: the second chance of a compare-and-swap on the hash that found it
// changed since it was read. It returns the user, the hash checked and
// whether the password matches it.
func (s *Service) reverify(ctx context.Context, id domain.UserID, password domain.Password) (domain.User, string, bool, error) {
	u, err := s.users.UserByID(ctx, id)
	if err != nil {
		return domain.User{}, "", false, err
	}
	verdict, err := s.hasher.Verify(ctx, password, u.PasswordHash())
	if err != nil {
		return domain.User{}, "", false, fmt.Errorf("verify password: %w", err)
	}
	return u, u.PasswordHash(), verdict.Match, nil
}

// claimAttempt claims a password check for key, or returns the
// *domain.ThrottledError that refuses it (recorded as login_throttled for
// user, who is empty when the email names no account). An attempt whose
// password is never checked is given back by releaseAttempt.
func (s *Service) claimAttempt(ctx context.Context, key domain.ThrottleKey, user domain.UserID, client domain.ClientInfo, at string) error {
	if s.throttle == nil {
		return nil
	}
	now := s.clock.Now()
	admitted, lockedUntil, err := s.throttle.ClaimLoginAttempt(ctx, key, now, s.throttlePolicy)
	if err != nil {
		return fmt.Errorf("throttle: %w", err)
	}
	if admitted {
		return nil
	}
	s.record(ctx, now, domain.AuditEvent{Type: domain.EventLoginThrottled, UserID: user, Client: client, Detail: at})
	return &domain.ThrottledError{Retry: max(lockedUntil.Sub(now), time.Duration(0))}
}

// verifyClaimed checks password against hash for an attempt claimed on
// key (claimAttempt): a check the hasher never made gives the claim back
// (releaseAttempt), a match forgets the key's failures (resetAttempts).
func (s *Service) verifyClaimed(ctx context.Context, key domain.ThrottleKey, password domain.Password, hash string) (ports.PasswordVerdict, error) {
	verdict, err := s.hasher.Verify(ctx, password, hash)
	if err != nil {
		s.releaseAttempt(ctx, key, err)
		return ports.PasswordVerdict{}, fmt.Errorf("verify password: %w", err)
	}
	if verdict.Match {
		if err := s.resetAttempts(ctx, key); err != nil {
			return ports.PasswordVerdict{}, err
		}
	}
	return verdict, nil
}

// resetAttempts forgets key's failures once its password is proven. Its
// failure fails the login (before any session exists): the store is the
// one a session would be written to, and a count that never resets would
// lock out a user who keeps logging in.
func (s *Service) resetAttempts(ctx context.Context, key domain.ThrottleKey) error {
	if s.throttle == nil {
		return nil
	}
	if err := s.throttle.ResetLoginAttempts(ctx, key); err != nil {
		return fmt.Errorf("throttle: %w", err)
	}
	return nil
}

// admit sheds a request the hasher would refuse anyway before any store
// work (ports.Admission); a hasher that cannot tell admits everything.
func (s *Service) admit() error {
	if a, ok := s.hasher.(ports.Admission); ok {
		return a.Admit()
	}
	return nil
}

// releaseAttempt gives back the claim of an attempt whose password the
// hasher never checked: refused under overload (domain.ErrUnavailable) or
// abandoned by the client. Without it, an overloaded server would lock the
// accounts of the users it turned away. Only one claim is given back, so an
// attacker who overloads the hasher gains nothing: no guess was evaluated.
// Best effort: a failure leaves the attempt counted.
func (s *Service) releaseAttempt(ctx context.Context, key domain.ThrottleKey, cause error) {
	if s.throttle == nil {
		return
	}
	if !errors.Is(cause, domain.ErrUnavailable) && !errors.Is(cause, context.Canceled) && !errors.Is(cause, context.DeadlineExceeded) {
		return
	}
	_ = s.throttle.ReleaseLoginAttempt(context.WithoutCancel(ctx), key, s.clock.Now())
}

// PruneThrottle forgets the brute-force throttle's keys that a new attempt
// would start afresh anyway (failures older than the window, lock over),
// so the throttle does not grow with every email ever tried. The server
// runs it periodically; it returns how many keys it forgot.
func (s *Service) PruneThrottle(ctx context.Context) (int, error) {
	if s.throttle == nil {
		return 0, nil
	}
	n, err := s.throttle.PruneLoginThrottle(ctx, s.clock.Now(), s.throttlePolicy)
	if err != nil {
		return 0, fmt.Errorf("prune throttle: %w", err)
	}
	return n, nil
}
