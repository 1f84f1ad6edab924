package application

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// Recorder is the one writer of the audit log. Use cases describe what
// happened (a domain.AuditEvent without id or time); the Recorder stamps
// and stores it, either inside the transaction of the change it describes
// (InTx: the event stands or falls with the change) or on its own, best
// effort (Record: a failed append never fails a use case that succeeded).
// Details are fixed phrases, never input, a password, a token or a hash.
type Recorder struct {
	audit   ports.AuditLog // nil: record nothing
	ids     ports.IDGenerator
	clock   ports.Clock
	onError func(error)

	rateLimited rateLimitedLog
}

// NewRecorder writes to audit (nil records nothing) and tells onError (nil
// ignores them) about the events Record failed to store.
func NewRecorder(audit ports.AuditLog, ids ports.IDGenerator, clock ports.Clock, onError func(error)) *Recorder {
	return &Recorder{audit: audit, ids: ids, clock: clock, onError: onError, rateLimited: rateLimitedLog{seen: map[string]time.Time{}}}
}

// stamp gives e its id and, unless set, the time now.
func (r *Recorder) stamp(e domain.AuditEvent) domain.AuditEvent {
	e.ID = r.ids.NewEventID()
	if e.At.IsZero() {
		e.At = r.clock.Now()
	}
	e.Client = e.Client.Clean()
	return e
}

// Record appends e on its own. The append outlives the request's
// cancellation, so a client that hangs up right after its login still
// leaves its trace; a failure goes to onError only.
func (r *Recorder) Record(ctx context.Context, e domain.AuditEvent) {
	if r == nil || r.audit == nil {
		return
	}
	e = r.stamp(e)
	if err := r.audit.Append(context.WithoutCancel(ctx), e); err != nil && r.onError != nil {
		r.onError(fmt.Errorf("audit: append %s event: %w", e.Type, err))
	}
}

// InTx appends e through the transaction's stores; its failure fails the
// transaction.
func (r *Recorder) InTx(ctx context.Context, st ports.Stores, e domain.AuditEvent) error {
	if r == nil || r.audit == nil {
		return nil
	}
	e = r.stamp(e)
	if err := st.Audit.Append(ctx, e); err != nil {
		return fmt.Errorf("audit: append %s event: %w", e.Type, err)
	}
	return nil
}

// Events reads a page of the log; with no log, an empty one.
func (r *Recorder) Events(ctx context.Context, f ports.EventFilter) ([]domain.AuditEvent, error) {
	if r == nil || r.audit == nil {
		return nil, nil
	}
	return r.audit.Events(ctx, f)
}

// rateLimitedEvery is how often one client may add a rate_limited event:
// a client hammering past the limiter must not turn every refusal into a write.
const rateLimitedEvery = time.Minute

// maxRateLimitedIPs bounds rateLimitedLog's memory; past it the map starts over.
const maxRateLimitedIPs = 10_000

type rateLimitedLog struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

// due reports whether ip may get an event at now, and if so notes it.
// IPv6 addresses count per /64, as the limiter buckets them.
func (l *rateLimitedLog) due(ip string, now time.Time) bool {
	if a, err := netip.ParseAddr(ip); err == nil && a.Is6() && !a.Is4In6() {
		if p, err := a.Prefix(64); err == nil {
			ip = p.String()
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if last, ok := l.seen[ip]; ok && now.Sub(last) < rateLimitedEvery {
		return false
	}
	if len(l.seen) >= maxRateLimitedIPs {
		clear(l.seen)
	}
	l.seen[ip] = now
	return true
}

// RecordRateLimited notes that the transport's per-client limiter refused
// a request from client. Call it for every refusal: it records at most one
// event per client address a minute.
func (r *Recorder) RecordRateLimited(ctx context.Context, client domain.ClientInfo) {
	if r == nil {
		return
	}
	client = client.Clean()
	now := r.clock.Now()
	if !r.rateLimited.due(client.IP, now) {
		return
	}
	r.Record(ctx, domain.AuditEvent{At: now, Type: domain.EventRateLimited, Client: client, Detail: DetailPerIPLimit})
}

// The audit details: fixed phrases, shared by the capabilities.
const (
	DetailUnknownEmail               = "no account has this email"
	DetailWrongPassword              = "wrong password"
	DetailAtLogin                    = "login"
	DetailAtPasswordChange           = "password change"
	DetailWrongCurrentPassword       = "wrong current password at password change"
	DetailOtherSessionsRevoked       = "other sessions revoked"
	DetailByOwner                    = "by its owner"
	DetailAllByOperator              = "all sessions, by an operator"
	DetailByOperator                 = "by an operator"
	DetailReuseRevokedSession        = "spent refresh token presented; session revoked"
	DetailWithinReuseLeeway          = "within the reuse leeway"
	DetailPerIPLimit                 = "per-IP request limit"
	DetailLogoutThisSession          = "this session"
	DetailLogoutOthers               = "others"
	DetailLogoutGlobal               = "global"
	DetailPasswordChangedDuringLogin = "password changed during login"
)
