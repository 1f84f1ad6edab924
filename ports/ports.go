// Package ports declares the interfaces the use cases consume. They are
// shaped by what application needs, speak only domain types, and carry no
// pgx, jwt or net/http types. Adapters implement them.
package ports

import (
	"context"
	"io"
	"time"

	"github.com/authd/authd/domain"
)

// UserRepository stores accounts. Email uniqueness is case-insensitive and
// enforced by the store itself (a unique index or a mutex), never by a
// read-then-write in the use case.
type UserRepository interface {
	// CreateUser inserts u; a duplicate email is domain.ErrEmailTaken.
	CreateUser(ctx context.Context, u domain.User) error
	// UserByEmail returns domain.ErrNotFound when no user has that email.
	UserByEmail(ctx context.Context, email domain.Email) (domain.User, error)
	// UserByID returns domain.ErrNotFound when no such user exists.
	UserByID(ctx context.Context, id domain.UserID) (domain.User, error)
	// UpdatePasswordHash replaces the stored hash with newHash if, and only
	// if, it still is oldHash: a compare-and-swap, atomic in the store (the
	// rehash on login, which must never write a hash of the old password
	// over one a password change stored meanwhile). When the stored hash is
	// not oldHash it changes nothing and returns domain.ErrPasswordChanged;
	// an unknown user is domain.ErrNotFound.
	UpdatePasswordHash(ctx context.Context, id domain.UserID, oldHash, newHash string) error
	// SetRole gives the user role and records now as the change time;
	// domain.ErrNotFound when no such user exists. Setting the role the user
	// already has is not an error; an unknown role is an error and changes
	// nothing. Issued access tokens keep the role they carry: the new one
	// shows from the user's next login or refresh.
	SetRole(ctx context.Context, id domain.UserID, role domain.Role, now time.Time) error
	// ListUsers returns at most filter.Limit users matching filter, in
	// ascending id order (UUIDv7 ids: oldest first). Paging passes the last
	// id of one page as the After of the next: a keyset cursor, so inserts
	// between pages neither repeat nor skip the rows already there. A limit
	// below 1 or an After that is not a UUID is an error.
	ListUsers(ctx context.Context, filter UserFilter) ([]domain.User, error)
}

// UserFilter selects a page of users for ListUsers.
type UserFilter struct {
	// EmailContains keeps the users whose email contains it, compared
	// case-insensitively as plain text (no wildcards); empty keeps all.
	EmailContains string
	// After is the cursor: only users whose id sorts after it; empty starts
	// at the beginning.
	After domain.UserID
	// Limit is the most users returned; it must be positive.
	Limit int
}

// SessionRepository stores sessions and their refresh-token families. Every
// method is atomic: two concurrent calls never both spend one token.
type SessionRepository interface {
	// CreateSession stores a new session with its first refresh token,
	// atomically, provided the owner's stored password hash still is
	// verifiedHash, the hash the login checked the password against. When it
	// is not (a password change committed after the check) it stores nothing
	// and returns domain.ErrPasswordChanged (an ErrInvalidCredentials). The
	// check and the insert serialise with ChangePassword on the user: a
	// session is either committed before a change of the hash it was
	// verified under, and then that change revokes it, or it is refused.
	// An empty verifiedHash checks nothing, for sessions not opened by a
	// password (tests, tools).
	CreateSession(ctx context.Context, s domain.Session, first domain.IssuedRefreshToken, verifiedHash string) error
	// ChangePassword replaces user's password hash with newHash if, and only
	// if, it still is oldHash (the hash the caller verified the current
	// password against), and ends every active session of user except keep
	// (keep may name no session: then it ends them all), in one transaction;
	// it returns how many sessions it ended, counted like
	// RevokeOtherSessions. The user stays locked from the swap to the
	// revocation, so no CreateSession verified under oldHash can slip a
	// session in between (see CreateSession). When the stored hash is not
	// oldHash it changes nothing and returns domain.ErrPasswordChanged (an
	// ErrInvalidCredentials: the current password the caller proved is no
	// longer the account's); an unknown user is domain.ErrNotFound.
	//
	// It lives on the session repository, next to CreateSession, because
	// the two are one protocol: the guarantee holds only when one store
	// keeps both the users and their sessions.
	ChangePassword(ctx context.Context, user domain.UserID, oldHash, newHash string, keep domain.SessionID, now time.Time) (revoked int, err error)
	// RotateRefreshToken spends the token whose digest is presented and
	// stores next in the same session, atomically, and records the use: the
	// session's last use becomes now and its client the one given (already
	// Clean). When presented is unknown, expired, or belongs to a revoked
	// session or to one policy says is no longer usable at now (idle too
	// long, too old: domain.SessionPolicy.Usable) it returns
	// domain.ErrInvalidRefreshToken and changes nothing. When presented was
	// already spent it revokes the whole session in the same transaction and
	// returns domain.ErrRefreshTokenReused together with that session (its
	// owner zero), so the caller can say whose session it was. next.SessionID
	// is ignored: the new token joins the presented token's session, and its
	// expiry is capped at the session's creation + policy.MaxAge
	// (policy.CapExpiry). The session, as updated, is returned with its
	// owner, read in the same transaction: once the token is spent nothing
	// else can fail and strand the client without its successor.
	//
	// When event is not nil it is appended to the audit log (AuditLog) in
	// the same transaction as a successful rotation, with UserID and
	// SessionID set to the rotated session's; a refused rotation appends
	// nothing. One commit instead of two: the "refreshed" event costs no
	// second WAL flush, and cannot be lost while the rotation stands. This
	// ties the audit log to the session store, like ChangePassword ties the
	// users to the sessions.
	RotateRefreshToken(ctx context.Context, presented domain.RefreshTokenHash, next domain.IssuedRefreshToken, now time.Time, policy domain.SessionPolicy, client domain.ClientInfo, event *domain.AuditEvent) (domain.Session, domain.User, error)
	// RevokeSession ends a session; revoking an unknown or already revoked
	// session is not an error (logout is idempotent).
	RevokeSession(ctx context.Context, id domain.SessionID, now time.Time) error
	// RevokeSessionByRefreshToken ends the session that token (spent or not)
	// belongs to and returns it (revoked; an earlier revocation keeps its
	// time); an unknown token is not an error and returns the zero Session.
	RevokeSessionByRefreshToken(ctx context.Context, token domain.RefreshTokenHash, now time.Time) (domain.Session, error)
	// RevokeUserSessions ends every active session of the user at now and
	// returns how many it ended; sessions revoked earlier keep their time
	// and are not counted, so a second call returns 0. An unknown user has
	// no sessions: 0, not an error. Concurrent calls count each session once.
	RevokeUserSessions(ctx context.Context, user domain.UserID, now time.Time) (int, error)
	// SessionByID returns the session, revoked or not, with its owner, read
	// together (one round trip where the store has them); domain.ErrNotFound
	// when no such session exists.
	SessionByID(ctx context.Context, id domain.SessionID) (domain.Session, domain.User, error)
	// SessionByRefreshToken returns the session a live token (unspent and
	// unexpired at now) belongs to, whatever the session's own state;
	// domain.ErrNotFound when the token is unknown, spent or expired. It
	// identifies a caller by refresh token (logout of other sessions).
	SessionByRefreshToken(ctx context.Context, token domain.RefreshTokenHash, now time.Time) (domain.Session, error)
	// SessionsOfUser returns at most limit of the user's sessions usable at
	// now under policy (not revoked, not idle, not too old), newest first
	// (creation time, then id, descending). An unknown user has none; a
	// limit below 1 is an error.
	SessionsOfUser(ctx context.Context, user domain.UserID, now time.Time, policy domain.SessionPolicy, limit int) ([]domain.Session, error)
	// RevokeUserSession ends the session id if it belongs to user (revoking
	// an already revoked one keeps its time and is not an error). When no
	// session id exists, or it belongs to another user, it returns
	// domain.ErrNotFound and changes nothing: the two cases are one answer,
	// so session ids of other users cannot be probed.
	RevokeUserSession(ctx context.Context, user domain.UserID, id domain.SessionID, now time.Time) error
	// RevokeOtherSessions ends every active session of user except keep and
	// returns how many it ended, like RevokeUserSessions (keep may name no
	// session: then it ends them all). Concurrent calls count each session once.
	RevokeOtherSessions(ctx context.Context, user domain.UserID, keep domain.SessionID, now time.Time) (int, error)
}

// LoginThrottle is the store of the account brute-force throttle (see
// domain.ThrottlePolicy). Keys are digests of normalized emails, so unknown
// emails are throttled exactly like known ones.
type LoginThrottle interface {
	// ClaimLoginAttempt admits or refuses one password check for key at
	// now, atomically: it applies policy.Claim to the key's state, so an
	// admitted attempt is counted as a failure, and the lock it earns set,
	// before the password is verified. Of N concurrent claims on one key at
	// most as many are admitted as the policy allows in a row. It returns
	// whether the attempt was admitted and the time the key is locked until
	// (for a refusal: when to retry).
	ClaimLoginAttempt(ctx context.Context, key domain.ThrottleKey, now time.Time, policy domain.ThrottlePolicy) (admitted bool, lockedUntil time.Time, err error)
	// ResetLoginAttempts forgets key: its owner proved the password. An
	// unknown key is not an error.
	ResetLoginAttempts(ctx context.Context, key domain.ThrottleKey) error
	// ReleaseLoginAttempt gives back one admitted attempt whose password was
	// never checked (the hasher refused it under overload, or the client
	// left): the failure count drops by one (a key left with none and no
	// lock in force is forgotten), and the lock
	// the claim set stays. An attacker gains nothing (no guess was
	// evaluated), and overload does not lock out the accounts it touches.
	// An unknown key is not an error.
	ReleaseLoginAttempt(ctx context.Context, key domain.ThrottleKey, now time.Time) error
	// PruneLoginThrottle forgets every key whose failures are older than
	// policy.Window and whose lock has ended by now (a claim would start it
	// afresh anyway), and returns how many it forgot. Run periodically, it
	// keeps the throttle from growing with every email ever tried.
	PruneLoginThrottle(ctx context.Context, now time.Time, policy domain.ThrottlePolicy) (int, error)
}

// AuditLog is the append-only security log. Events are never changed or
// deleted through it.
type AuditLog interface {
	// Append stores e as given (its ID and At are set by the caller).
	Append(ctx context.Context, e domain.AuditEvent) error
	// Events returns at most filter.Limit events matching filter, newest
	// first: descending (At, ID). Paging passes the (At, ID) of the last
	// event of one page as the Before of the next: a keyset cursor, so
	// events appended between pages neither repeat nor shift a page. A
	// limit below 1 is an error.
	Events(ctx context.Context, filter EventFilter) ([]domain.AuditEvent, error)
}

// EventFilter selects a page of audit events for Events.
type EventFilter struct {
	// Before is the cursor: only events that sort before it (older); the
	// zero cursor starts at the newest.
	Before EventCursor
	// UserID keeps the events of one user; empty keeps all.
	UserID domain.UserID
	// Type keeps the events of one type; empty keeps all.
	Type domain.EventType
	// Limit is the most events returned; it must be positive.
	Limit int
}

// EventCursor is a position in the (At, ID) order of the audit log.
type EventCursor struct {
	At time.Time
	ID domain.EventID
}

// IsZero reports whether c names no position (start at the newest).
func (c EventCursor) IsZero() bool { return c.At.IsZero() && c.ID == "" }

// Pinger reports whether the store answers (readiness).
type Pinger interface {
	Ping(ctx context.Context) error
}

// PasswordVerdict is the outcome of checking a password against a hash.
type PasswordVerdict struct {
	Match bool
	// NeedsRehash: the stored hash uses an outdated algorithm or parameters
	// and should be replaced now that the plaintext is known to be right.
	NeedsRehash bool
}

// PasswordHasher hashes and verifies passwords. Both calls are deliberately
// slow and may return domain.ErrUnavailable when the hashing capacity is
// saturated; that error then carries a retry hint (see RetryAfter).
type PasswordHasher interface {
	Hash(ctx context.Context, password domain.Password) (string, error)
	Verify(ctx context.Context, password domain.Password, encoded string) (PasswordVerdict, error)
}

// RetryAfter is implemented by errors that know when a retry may succeed
// Admission is implemented by a PasswordHasher that can tell, cheaply and
// before any other work, that it would refuse a hash right now (its queue
// is full). Login and sign-up ask it first, so an overloaded server sheds a
// request before spending store round trips and commits on it. The error
// is a domain.ErrUnavailable carrying RetryAfter. It is only a hint: the
// hash itself still goes through the admission gate.
type Admission interface {
	Admit() error
}

// (the hashing gate's busy error, domain.ThrottledError).
type RetryAfter interface {
	RetryAfter() time.Duration
}

var _ RetryAfter = (*domain.ThrottledError)(nil)

// TokenIssuer signs access tokens.
type TokenIssuer interface {
	// IssueAccessToken returns the encoded token for claims; the issuer sets
	// the lifetime, issue time and token id itself and reports them back in
	// the returned claims.
	IssueAccessToken(ctx context.Context, claims domain.AccessClaims) (string, domain.AccessClaims, error)
}

// TokenVerifier checks access tokens; every failure is domain.ErrInvalidToken.
type TokenVerifier interface {
	VerifyAccessToken(ctx context.Context, token string) (domain.AccessClaims, error)
}

// Clock tells the time; tests inject a fixed one.
type Clock interface {
	Now() time.Time
}

// IDGenerator mints identifiers (UUIDv7 in production).
type IDGenerator interface {
	NewUserID() domain.UserID
	NewSessionID() domain.SessionID
	NewEventID() domain.EventID
}

// RandomSource is a cryptographically secure byte source (crypto/rand in production).
type RandomSource = io.Reader
