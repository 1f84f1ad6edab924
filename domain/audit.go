package domain

import (
	"fmt"
	"time"
)

// EventID identifies an audit event: a canonical, lower-case UUID (v7).
type EventID string

// ParseEventID validates s as a UUID.
func ParseEventID(s string) (EventID, error) {
	if !isUUID(s) {
		return "", fmt.Errorf("event id %q: not a UUID", s)
	}
	return EventID(s), nil
}

func (id EventID) String() string { return string(id) }

// EventType names what happened in an audit event.
type EventType string

// The audit event types. They are stored as text; renaming one is a
// migration of the existing rows.
const (
	EventRegistered           EventType = "registered"
	EventLoginSucceeded       EventType = "login_succeeded"
	EventLoginFailed          EventType = "login_failed"
	EventLoginThrottled       EventType = "login_throttled"
	EventRefreshed            EventType = "refreshed"
	EventRefreshReuseDetected EventType = "refresh_reuse_detected"
	EventLoggedOut            EventType = "logged_out"
	EventSessionRevoked       EventType = "session_revoked"
	EventPasswordChanged      EventType = "password_changed"
	EventRoleChanged          EventType = "role_changed"
	EventRateLimited          EventType = "rate_limited"
	// The email flows. A request that names an address no account has
	// leaves no event (its answer, and its trace, must not tell).
	EventVerificationRequested  EventType = "email_verification_requested"
	EventEmailVerified          EventType = "email_verified"
	EventPasswordResetRequested EventType = "password_reset_requested"
	EventPasswordReset          EventType = "password_reset"
	EventEmailChangeRequested   EventType = "email_change_requested"
	EventEmailChanged           EventType = "email_changed"
	// Second factors.
	EventMFAEnabled          EventType = "mfa_enabled"
	EventMFADisabled         EventType = "mfa_disabled"
	EventRecoveryCodesIssued EventType = "recovery_codes_issued"
	EventRecoveryCodeUsed    EventType = "recovery_code_used"
	EventMFAChallengeFailed  EventType = "mfa_challenge_failed"
	// Passkeys.
	EventPasskeyAdded        EventType = "passkey_added"
	EventPasskeyRemoved      EventType = "passkey_removed"
	EventPasskeyRejected     EventType = "passkey_rejected"
	EventPasskeyCloneWarning EventType = "passkey_clone_warning"
)

// EventTypes lists every known type, in a stable order.
var EventTypes = []EventType{
	EventRegistered, EventLoginSucceeded, EventLoginFailed, EventLoginThrottled,
	EventRefreshed, EventRefreshReuseDetected, EventLoggedOut, EventSessionRevoked,
	EventPasswordChanged, EventRoleChanged, EventRateLimited,
	EventVerificationRequested, EventEmailVerified, EventPasswordResetRequested, EventPasswordReset,
	EventEmailChangeRequested, EventEmailChanged,
	EventMFAEnabled, EventMFADisabled, EventRecoveryCodesIssued, EventRecoveryCodeUsed, EventMFAChallengeFailed,
	EventPasskeyAdded, EventPasskeyRemoved, EventPasskeyRejected, EventPasskeyCloneWarning,
}

// ParseEventType accepts only the known types.
func ParseEventType(s string) (EventType, error) {
	for _, t := range EventTypes {
		if string(t) == s {
			return t, nil
		}
	}
	return "", fmt.Errorf("unknown event type %q", s)
}

func (t EventType) String() string { return string(t) }

// AuditEvent is one entry of the append-only security log. It records who
// (user, session, client) and what (type, detail), never a credential:
// Detail is one of the use cases' fixed phrases, never user input, a
// password, a token or a hash. UserID and SessionID are empty when unknown
// (a failed login for an email no account has; a rate-limited request).
type AuditEvent struct {
	ID        EventID
	At        time.Time
	Type      EventType
	UserID    UserID
	SessionID SessionID
	// ActorID is the administrator who acted on UserID (role changes,
	// revoking a user's sessions over the admin API); empty otherwise, and
	// for the command line, an operator on the host rather than an account.
	// Client is then the administrator's.
	ActorID UserID
	Client  ClientInfo
	Detail  string
}
