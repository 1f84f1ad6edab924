package domain

import "time"

// Retention rules: when a row the server keeps can no longer matter and
// may be deleted (the pruner, application.Pruner, applies them through
// every store alike).
//
//   - A session is kept until EndedSessionGrace after it ended: revoked,
//     idle past its idle timeout, or past its maximum age
//     (SessionPolicy.EndOf). An ended session refuses everything at once;
//     the grace only keeps it readable (SessionByID) a while for whoever
//     investigates a logout or a revocation, and absorbs clock skew between
//     replicas. The audit log, not the sessions table, is the lasting record.
//   - A refresh token is kept while presenting it can still change
//     something: until its own expiry, and only while its session is
//     usable (RefreshTokenGone). A spent token of a usable session must
//     stay, since presenting it is reuse and revokes the session
//     (SessionPolicy.DecideRotation). Past the token's expiry the store
//     forgets it: presented then it is an unknown token, refused like an
//     expired one, and the session lives on. That bounds a session's chain
//     of spent tokens to what one refresh-token lifetime issues, not what
//     its whole life does. Once the session is unusable a spent token is
//     evidence of nothing a store still needs: the session refuses anyway.
//   - Audit events are kept for the configured retention (0: forever).
//   - Email tokens go once expired (a used one is deleted when used);
//     mails SentMailRetention after they were sent or given up; mail-cap
//     keys once MailCap.Stale.
//   - Login throttle keys go once a claim would start them afresh
//     (ThrottlePolicy; ports.LoginThrottle.PruneLoginThrottle).

// SentMailRetention is how long a mail sent or given up stays in the
// outbox (without its link, which goes at once): long enough to answer
// "did the mail go out?".
const SentMailRetention = 7 * 24 * time.Hour

// EndedSessionGrace is how long an ended session stays stored.
const EndedSessionGrace = 24 * time.Hour

// EndOf is when s ends: its revocation, else the earlier of its idle and
// absolute timeouts; zero when nothing ends it (no revocation, no limit).
func (p SessionPolicy) EndOf(s Session) time.Time {
	if !s.Active() {
		return s.revokedAt
	}
	var end time.Time
	if p.IdleTimeout > 0 {
		end = s.lastUsedAt.Add(p.IdleTimeout)
	}
	if p.MaxAge > 0 {
		if e := s.createdAt.Add(p.MaxAge); end.IsZero() || e.Before(end) {
			end = e
		}
	}
	return end
}

// SessionRetention is the rule for sessions and their refresh tokens.
type SessionRetention struct {
	Policy SessionPolicy
	// Grace keeps an ended session this long (EndedSessionGrace in
	// production; tests set 0).
	Grace time.Duration
}

// SessionGone reports whether s may be deleted at now, with its tokens: it
// ended at least Grace ago.
func (r SessionRetention) SessionGone(s Session, now time.Time) bool {
	end := r.Policy.EndOf(s)
	return !end.IsZero() && !now.Before(end.Add(r.Grace))
}

// RefreshTokenGone reports whether t, of session s, may be deleted at now:
// it has expired (spent or not), or s is no longer usable.
func (r SessionRetention) RefreshTokenGone(t RefreshTokenRecord, s Session, now time.Time) bool {
	return !t.ExpiresAt.After(now) || !r.Policy.Usable(s, now)
}

// Cutoffs are the thresholds a store compares columns with to apply the
// rule in a query; a zero time sets no limit.
type Cutoffs struct {
	// A session is gone when revoked_at <= RevokedBy, or last_used_at <=
	// UsedBy, or created_at <= CreatedBy.
	RevokedBy, UsedBy, CreatedBy time.Time
}

// SessionCutoffs are the cutoffs of SessionGone at now.
func (r SessionRetention) SessionCutoffs(now time.Time) Cutoffs {
	return r.Policy.cutoffs(now.Add(-r.Grace))
}

// TokenCutoffs are the cutoffs of RefreshTokenGone's session part at now
// (the token part is expires_at <= now): the session is unusable.
func (r SessionRetention) TokenCutoffs(now time.Time) Cutoffs {
	return r.Policy.cutoffs(now)
}

// cutoffs: ended at or before at. Usable's timeouts are now >= last use +
// idle, that is last use <= now - idle, and likewise for the age.
func (p SessionPolicy) cutoffs(at time.Time) Cutoffs {
	c := Cutoffs{RevokedBy: at}
	if p.IdleTimeout > 0 {
		c.UsedBy = at.Add(-p.IdleTimeout)
	}
	if p.MaxAge > 0 {
		c.CreatedBy = at.Add(-p.MaxAge)
	}
	return c
}

// Gone applies c to a session's columns, as the stores' queries do.
func (c Cutoffs) Gone(s Session) bool {
	switch {
	case !s.Active() && !s.revokedAt.After(c.RevokedBy):
		return true
	case !c.UsedBy.IsZero() && !s.lastUsedAt.After(c.UsedBy):
		return true
	case !c.CreatedBy.IsZero() && !s.createdAt.After(c.CreatedBy):
		return true
	}
	return false
}
