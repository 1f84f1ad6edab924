package domain

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"time"
)

// ErrThrottled: too many failed password checks for this account (or email)
// recently; the attempt was refused before the password was looked at. The
// error is a *ThrottledError, which says when to retry (ports.RetryAfter).
var ErrThrottled = errors.New("too many failed attempts; try again later")

// ThrottledError refuses an attempt until a moment in the future.
type ThrottledError struct {
	// Retry is how long until an attempt is admitted again.
	Retry time.Duration
}

func (e *ThrottledError) Error() string { return ErrThrottled.Error() }

// Unwrap makes errors.Is(err, ErrThrottled) hold.
func (e *ThrottledError) Unwrap() error { return ErrThrottled }

// RetryAfter rounds Retry up to whole seconds, at least one: Retry-After is
// sent in seconds, and a retry a moment too early would only be refused.
func (e *ThrottledError) RetryAfter() time.Duration {
	d := e.Retry.Truncate(time.Second)
	if d < e.Retry {
		d += time.Second
	}
	return max(d, time.Second)
}

// ThrottleKey names the subject of the login throttle: the SHA-256 digest of
// a normalized email, whether an account has it or not, so a refusal says
// nothing about which accounts exist, and the store keeps no attacker-chosen
// addresses in clear.
type ThrottleKey [sha256.Size]byte

// ThrottleKeyFor derives the key of an email.
func ThrottleKeyFor(e Email) ThrottleKey {
	return sha256.Sum256([]byte("authd login throttle\x00" + e.Key()))
}

// ThrottlePolicy limits password guessing per account (OWASP ASVS 2.2.1):
// within a window, the first FreeAttempts failures cost nothing; after
// that every attempt locks the key for BaseDelay, doubling per further
// failure up to MaxDelay. A window starts at the first failure and, once
// Window has passed, the next attempt starts a fresh one.
//
// Attempts are counted up front: a store admits an attempt by recording it
// as a failure and setting the lock for it, atomically, before the password
// is verified; a successful login then forgets the key. So concurrent
// guesses cannot slip past the count, and the owner of an account under
// attack waits at most MaxDelay once the attacker stops.
type ThrottlePolicy struct {
	FreeAttempts int
	BaseDelay    time.Duration
	MaxDelay     time.Duration
	Window       time.Duration
}

// Validate reports a policy that cannot work.
func (p ThrottlePolicy) Validate() error {
	switch {
	case p.FreeAttempts < 1:
		return fmt.Errorf("login throttle: free attempts %d must be at least 1", p.FreeAttempts)
	case p.BaseDelay <= 0 || p.MaxDelay < p.BaseDelay:
		return fmt.Errorf("login throttle: delays must satisfy 0 < base (%v) <= max (%v)", p.BaseDelay, p.MaxDelay)
	case p.Window <= 0:
		return fmt.Errorf("login throttle: window %v must be positive", p.Window)
	}
	return nil
}

// Delay is how long the key stays locked after its n-th counted attempt of
// a window (n from 1): 0 for the first FreeAttempts-1, then BaseDelay,
// 2*BaseDelay, 4*BaseDelay ... capped at MaxDelay. The FreeAttempts-th
// attempt is still admitted at once but locks for BaseDelay, so
// FreeAttempts guesses go through back to back and the next waits.
func (p ThrottlePolicy) Delay(n int) time.Duration {
	if n < p.FreeAttempts {
		return 0
	}
	d := p.BaseDelay
	for i := p.FreeAttempts; i < n; i++ {
		d *= 2
		if d >= p.MaxDelay || d <= 0 {
			return p.MaxDelay
		}
	}
	return min(d, p.MaxDelay)
}

// Delays lists Delay(1), Delay(2) ... up to and including the first that
// reaches MaxDelay; every later attempt is locked for MaxDelay. Stores that
// compute the lock in SQL take this table, so the arithmetic lives here.
func (p ThrottlePolicy) Delays() []time.Duration {
	var out []time.Duration
	for n := 1; ; n++ {
		d := p.Delay(n)
		out = append(out, d)
		if d >= p.MaxDelay {
			return out
		}
	}
}

// ThrottleState is one key's record: the failures counted in the current
// window, when that window started, and until when the key is locked.
type ThrottleState struct {
	Failures    int
	WindowStart time.Time
	LockedUntil time.Time
}

// Claim decides an attempt at now against st (the zero state for a key
// never seen). When the key is locked it returns st unchanged and false;
// otherwise it returns the state with this attempt counted (in a fresh
// window if the old one has passed) and the lock it earns, and true. The
// memory store applies it under its mutex; the Postgres store runs the same
// rule as one INSERT ... ON CONFLICT DO UPDATE.
func (p ThrottlePolicy) Claim(st ThrottleState, now time.Time) (ThrottleState, bool) {
	if now.Before(st.LockedUntil) {
		return st, false
	}
	if st.Failures == 0 || !now.Before(st.WindowStart.Add(p.Window)) {
		st = ThrottleState{WindowStart: now, LockedUntil: st.LockedUntil} // an old lock's end (over) stays, as in SQL
	}
	st.Failures++
	// Only a real delay moves the lock. A free attempt leaves it where it
	// was (over, or never set): were it set to now, a claim made at the
	// same moment but stamped a little earlier (read from the clock before
	// this one, or on a replica whose clock lags) would find the key
	// "locked" and refuse the right password with 429.
	if d := p.Delay(st.Failures); d > 0 {
		st.LockedUntil = now.Add(d)
	}
	return st, true
}

// LockEnd is when the lock on st ends, seen at now: now itself when none
// is in force. A store reports it for an admitted claim.
func (st ThrottleState) LockEnd(now time.Time) time.Time {
	if st.LockedUntil.After(now) {
		return st.LockedUntil
	}
	return now
}

// Expired reports whether st no longer affects any attempt at or after now,
// so a store may forget it.
func (p ThrottlePolicy) Expired(st ThrottleState, now time.Time) bool {
	return !now.Before(st.LockedUntil) && !now.Before(st.WindowStart.Add(p.Window))
}

// MaxAttemptsPerHour simulates an attacker who tries again the moment each
// lock ends, over two windows, and returns the most attempts admitted in
// any hour: the number ASVS 2.2.1 bounds at 100.
func (p ThrottlePolicy) MaxAttemptsPerHour() int {
	const hour = time.Hour
	start := time.Unix(0, 0).UTC()
	horizon := start.Add(2*p.Window + hour)
	var st ThrottleState
	var admitted []time.Time
	for now := start; now.Before(horizon) && len(admitted) < 100_000; {
		next, ok := p.Claim(st, now)
		if !ok {
			now = st.LockedUntil
			continue
		}
		st = next
		admitted = append(admitted, now)
		if st.LockedUntil.After(now) {
			now = st.LockedUntil
		} else {
			now = now.Add(time.Millisecond) // an instant retry; time still moves
		}
	}
	best, lo := 0, 0
	for hi := range admitted {
		for !admitted[hi].Before(admitted[lo].Add(hour)) {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}
