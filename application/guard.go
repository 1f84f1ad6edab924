package application

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// Guard checks passwords under the per-account brute-force throttle. Every
// check of a password an attacker could choose (login, the current
// password of a password change) goes through it: claim an attempt first,
// then verify, and on a match forget the failures.
type Guard struct {
	throttle ports.LoginThrottle // nil: no throttle (tools and tests only)
	hasher   ports.PasswordHasher
	clock    ports.Clock
	audit    *Recorder
	policy   domain.ThrottlePolicy
}

// NewGuard builds a Guard; throttle may be nil only where no password is
// checked under attack (a server always sets it).
func NewGuard(throttle ports.LoginThrottle, hasher ports.PasswordHasher, clock ports.Clock, audit *Recorder, policy domain.ThrottlePolicy) *Guard {
	return &Guard{throttle: throttle, hasher: hasher, clock: clock, audit: audit, policy: policy}
}

// Admit sheds a request the hasher would refuse anyway, before any store
// work (ports.Admission); a hasher that cannot tell admits everything.
func (g *Guard) Admit() error {
	if a, ok := g.hasher.(ports.Admission); ok {
		return a.Admit()
	}
	return nil
}

// Claim claims one password check for key, counted as a failure before
// the password is seen, so concurrent guesses cannot overrun the limit.
// Refused, it is a *domain.ThrottledError, recorded as login_throttled for
// user (empty when the email names no account) at the step named by at.
func (g *Guard) Claim(ctx context.Context, key domain.ThrottleKey, user domain.UserID, client domain.ClientInfo, at string) error {
	if g.throttle == nil {
		return nil
	}
	now := g.clock.Now()
	admitted, lockedUntil, err := g.throttle.ClaimLoginAttempt(ctx, key, now, g.policy)
	if err != nil {
		return fmt.Errorf("throttle: %w", err)
	}
	if admitted {
		return nil
	}
	// One login_throttled event per lock period, not one per refusal: a
	// guesser hammering a locked account must not turn every refusal into
	// a write. The store decides which refusal is the first, across
	// replicas; if it cannot tell, the event is recorded (best effort,
	// like the store it would go to).
	if first, err := g.throttle.MarkLockAudited(ctx, key, now); first || err != nil {
		g.audit.Record(ctx, domain.AuditEvent{At: now, Type: domain.EventLoginThrottled, UserID: user, Client: client, Detail: at})
	}
	return &domain.ThrottledError{Retry: max(lockedUntil.Sub(now), time.Duration(0))}
}

// Forget clears key's failures: its owner proved a factor.
func (g *Guard) Forget(ctx context.Context, key domain.ThrottleKey) error {
	if g.throttle == nil {
		return nil
	}
	if err := g.throttle.ResetLoginAttempts(ctx, key); err != nil {
		return fmt.Errorf("throttle: %w", err)
	}
	return nil
}

// Verify checks password against hash for an attempt claimed on key. A
// check the hasher never made (overload, a client that left) gives the
// claim back, so overload locks out nobody; a match forgets the failures
// when forget is set, and failing to forget fails the check (a count that
// never resets would lock out a user who keeps logging in). An account
// with a second factor passes forget false: its failures go only once the
// second factor is proven too, or the password would reset the count its
// wrong codes run up, and the six digits could be guessed without limit.
func (g *Guard) Verify(ctx context.Context, key domain.ThrottleKey, password domain.Password, hash string, forget bool) (ports.PasswordVerdict, error) {
	verdict, evaluated, err := g.check(ctx, password, hash)
	if err != nil {
		if !evaluated {
			g.release(ctx, key, err)
		}
		return ports.PasswordVerdict{}, fmt.Errorf("verify password: %w", err)
	}
	if verdict.Match && forget && g.throttle != nil {
		if err := g.throttle.ResetLoginAttempts(ctx, key); err != nil {
			return ports.PasswordVerdict{}, fmt.Errorf("throttle: %w", err)
		}
	}
	return verdict, nil
}

// check verifies the normalised password and, when that fails and the
// password was typed in another form, the form it was typed in: a hash
// made before passwords were normalised (NFKC) keeps working, and a match
// on it asks for a rehash, which stores the normalised form. A wrong
// password of that kind costs two hashes; so does a wrong one for an
// unknown email (the dummy hash), so timing tells nothing. evaluated says
// whether a guess was checked at all: once one was, the attempt stays
// counted even if the second check fails (else an attacker who overloads
// the hasher would get every first check for free).
func (g *Guard) check(ctx context.Context, password domain.Password, hash string) (verdict ports.PasswordVerdict, evaluated bool, err error) {
	verdict, err = g.hasher.Verify(ctx, password, hash)
	if err != nil || verdict.Match {
		return verdict, err == nil, err
	}
	typed, ok := password.AsTyped()
	if !ok {
		return verdict, true, nil
	}
	verdict, err = g.hasher.Verify(ctx, typed, hash)
	if verdict.Match {
		verdict.NeedsRehash = true
	}
	return verdict, true, err
}

// release gives back the claim of an attempt whose password was never
// checked. Best effort: a failure leaves the attempt counted.
func (g *Guard) release(ctx context.Context, key domain.ThrottleKey, cause error) {
	if g.throttle == nil {
		return
	}
	if !errors.Is(cause, domain.ErrUnavailable) && !errors.Is(cause, context.Canceled) && !errors.Is(cause, context.DeadlineExceeded) {
		return
	}
	_ = g.throttle.ReleaseLoginAttempt(context.WithoutCancel(ctx), key, g.clock.Now())
}

// Recheck reads user's password hash again and checks password against
// it: the second chance of a compare-and-swap that found the hash changed
// since it was read (a concurrent rehash of the same password, or a real
// change). It is not claimed again: the attempt was claimed once.
func (g *Guard) Recheck(ctx context.Context, passwords ports.Passwords, user domain.UserID, password domain.Password) (hash string, match bool, err error) {
	hash, err = passwords.PasswordHash(ctx, user)
	if errors.Is(err, domain.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	verdict, _, err := g.check(ctx, password, hash)
	if err != nil {
		return "", false, fmt.Errorf("verify password: %w", err)
	}
	return hash, verdict.Match, nil
}
