// Package memory implements the repository ports in process memory: the
// development default when no database is configured, and a fast fake for
// tests. It follows the same contract as adapters/postgres, checked by the
// shared suite in adapters/repotest. Everything is lost when the process exits.
package memory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

var (
	_ ports.UserRepository    = (*Store)(nil)
	_ ports.SessionRepository = (*Store)(nil)
	_ ports.LoginThrottle     = (*Store)(nil)
	_ ports.AuditLog          = (*Store)(nil)
	_ ports.Pinger            = (*Store)(nil)
)

// Bounds that keep the development store's memory finite under a flood of
// attacker-chosen emails or logged failures (Postgres keeps everything).
const (
	// MaxEvents is how many audit events the store keeps; past it the
	// oldest tenth is dropped.
	MaxEvents = 100_000
	// throttleSweepAt is the number of throttle keys at which a claim first
	// forgets the expired ones.
	throttleSweepAt = 10_000
)

// Store keeps users, sessions and refresh tokens in maps behind one mutex,
// which makes every method atomic, as the ports require. domain values are
// immutable values, so storing them stores copies.
type Store struct {
	mu       sync.Mutex
	users    map[domain.UserID]domain.User
	byEmail  map[string]domain.UserID // key: lower-cased email, like the Postgres index
	sessions map[domain.SessionID]domain.Session
	tokens   map[domain.RefreshTokenHash]*refreshToken
	throttle map[domain.ThrottleKey]throttleEntry
	sweepAt  int
	events   []domain.AuditEvent // in append order
}

type throttleEntry struct {
	state  domain.ThrottleState
	policy domain.ThrottlePolicy // the policy it was claimed under, to know when it expires
}

type refreshToken struct {
	session   domain.SessionID
	expiresAt time.Time
	spentAt   time.Time // zero while unspent
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{
		users:    make(map[domain.UserID]domain.User),
		byEmail:  make(map[string]domain.UserID),
		sessions: make(map[domain.SessionID]domain.Session),
		tokens:   make(map[domain.RefreshTokenHash]*refreshToken),
		throttle: make(map[domain.ThrottleKey]throttleEntry),
		sweepAt:  throttleSweepAt,
	}
}

// Ping always succeeds: memory is always there.
func (s *Store) Ping(context.Context) error { return nil }

// CreateUser inserts u; an email that matches another case-insensitively is
// domain.ErrEmailTaken.
func (s *Store) CreateUser(_ context.Context, u domain.User) error {
	if _, err := domain.ParseUserID(string(u.ID())); err != nil {
		return fmt.Errorf("memory: create user: %w", err)
	}
	key := emailKey(u.Email())
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.byEmail[key]; taken {
		return fmt.Errorf("memory: create user: %w", domain.ErrEmailTaken)
	}
	if _, dup := s.users[u.ID()]; dup {
		return errors.New("memory: create user: duplicate id")
	}
	s.users[u.ID()] = rehydrateUser(u, u.PasswordHash())
	s.byEmail[key] = u.ID()
	return nil
}

// UserByEmail returns domain.ErrNotFound when no user has that email.
func (s *Store) UserByEmail(_ context.Context, email domain.Email) (domain.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.byEmail[emailKey(email)]
	if !ok {
		return domain.User{}, fmt.Errorf("memory: user by email: %w", domain.ErrNotFound)
	}
	return s.users[id], nil
}

// UserByID returns domain.ErrNotFound when no such user exists.
func (s *Store) UserByID(_ context.Context, id domain.UserID) (domain.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return domain.User{}, fmt.Errorf("memory: user by id: %w", domain.ErrNotFound)
	}
	return u, nil
}

// UpdatePasswordHash swaps oldHash for newHash under the mutex; a stored
// hash other than oldHash is domain.ErrPasswordChanged, an unknown user
// domain.ErrNotFound.
func (s *Store) UpdatePasswordHash(_ context.Context, id domain.UserID, oldHash, newHash string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkHash(id, oldHash); err != nil {
		return fmt.Errorf("memory: update password hash: %w", err)
	}
	s.users[id] = rehydrateUser(s.users[id], newHash)
	return nil
}

// ChangePassword swaps the hash and revokes the other sessions under one
// hold of the mutex, so no CreateSession falls between the two.
func (s *Store) ChangePassword(_ context.Context, user domain.UserID, oldHash, newHash string, keep domain.SessionID, now time.Time) (int, error) {
	now = pgTime(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkHash(user, oldHash); err != nil {
		return 0, fmt.Errorf("memory: change password: %w", err)
	}
	s.users[user] = rehydrateUser(s.users[user], newHash)
	return s.revokeOthers(user, keep, now), nil
}

// checkHash is the compare of a compare-and-swap: domain.ErrNotFound for an
// unknown user, domain.ErrPasswordChanged when the stored hash is not
// want. Callers hold s.mu.
func (s *Store) checkHash(id domain.UserID, want string) error {
	u, ok := s.users[id]
	switch {
	case !ok:
		return domain.ErrNotFound
	case u.PasswordHash() != want:
		return domain.ErrPasswordChanged
	}
	return nil
}

// SetRole changes the user's role; an unknown user is domain.ErrNotFound and
// an unknown role an error (the Postgres CHECK constraint's counterpart).
// The memory store keeps no updated_at, so now is not recorded.
func (s *Store) SetRole(_ context.Context, id domain.UserID, role domain.Role, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return fmt.Errorf("memory: set role: %w", domain.ErrNotFound)
	}
	changed, err := u.WithRole(role)
	if err != nil {
		return fmt.Errorf("memory: set role: %w", err)
	}
	s.users[id] = changed
	return nil
}

// ListUsers filters and sorts on every call: fine for a development store.
// Ids compare as strings, which for canonical lower-case UUIDs is the
// byte order Postgres sorts its uuid column in.
func (s *Store) ListUsers(_ context.Context, f ports.UserFilter) ([]domain.User, error) {
	if f.Limit < 1 {
		return nil, fmt.Errorf("memory: list users: limit %d is not positive", f.Limit)
	}
	if f.After != "" {
		if _, err := domain.ParseUserID(string(f.After)); err != nil {
			return nil, fmt.Errorf("memory: list users: cursor: %w", err)
		}
	}
	needle := strings.ToLower(f.EmailContains)
	s.mu.Lock()
	page := make([]domain.User, 0, min(f.Limit, len(s.users)))
	for id, u := range s.users {
		if id > f.After && strings.Contains(strings.ToLower(u.Email().String()), needle) {
			page = append(page, u)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(page, func(a, b domain.User) int { return strings.Compare(string(a.ID()), string(b.ID())) })
	if len(page) > f.Limit {
		page = page[:f.Limit]
	}
	return page, nil
}

// CreateSession stores sess and its first refresh token. The user must
// exist (Postgres has a foreign key), and first.SessionID, when set, must
// name sess. A verifiedHash must still be the user's hash, checked under
// the mutex that ChangePassword holds from its swap to its revocation.
func (s *Store) CreateSession(_ context.Context, sess domain.Session, first domain.IssuedRefreshToken, verifiedHash string) error {
	if first.SessionID != "" && first.SessionID != sess.ID() {
		return errors.New("memory: create session: first refresh token names another session")
	}
	if _, err := domain.ParseSessionID(string(sess.ID())); err != nil {
		return fmt.Errorf("memory: create session: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[sess.UserID()]; !ok {
		return errors.New("memory: create session: unknown user")
	}
	if verifiedHash != "" {
		if err := s.checkHash(sess.UserID(), verifiedHash); err != nil {
			return fmt.Errorf("memory: create session: %w", err)
		}
	}
	if _, dup := s.sessions[sess.ID()]; dup {
		return errors.New("memory: create session: duplicate id")
	}
	if _, dup := s.tokens[first.Hash]; dup {
		return errors.New("memory: create session: duplicate refresh token")
	}
	s.sessions[sess.ID()] = domain.RehydrateSession(sess.ID(), sess.UserID(), pgTime(sess.CreatedAt()), pgTime(sess.LastUsedAt()), pgTime(sess.RevokedAt()), sess.Client().Clean())
	s.tokens[first.Hash] = &refreshToken{session: sess.ID(), expiresAt: pgTime(first.ExpiresAt)}
	return nil
}

// RotateRefreshToken follows the port's contract with the same precedence
// as adapters/postgres: unknown or revoked-session tokens are invalid; a
// spent token (even an expired one) revokes its session and reports reuse;
// an expired token, or one of a session policy says is over, is invalid.
func (s *Store) RotateRefreshToken(_ context.Context, presented domain.RefreshTokenHash, next domain.IssuedRefreshToken, now time.Time, policy domain.SessionPolicy, client domain.ClientInfo, event *domain.AuditEvent) (domain.Session, domain.User, error) {
	if event != nil {
		if err := checkEvent(*event); err != nil {
			return domain.Session{}, domain.User{}, fmt.Errorf("memory: rotate refresh token: %w", err)
		}
	}
	now = pgTime(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, ok := s.tokens[presented]
	if !ok {
		return domain.Session{}, domain.User{}, domain.ErrInvalidRefreshToken
	}
	sess := s.sessions[tok.session]
	switch {
	case !sess.Active():
		return domain.Session{}, domain.User{}, domain.ErrInvalidRefreshToken
	case !tok.spentAt.IsZero():
		s.revoke(sess.ID(), now)
		return s.sessions[sess.ID()], domain.User{}, domain.ErrRefreshTokenReused
	case !tok.expiresAt.After(now), !policy.Usable(sess, now):
		return domain.Session{}, domain.User{}, domain.ErrInvalidRefreshToken
	}
	if _, dup := s.tokens[next.Hash]; dup {
		return domain.Session{}, domain.User{}, errors.New("memory: rotate refresh token: duplicate next token")
	}
	owner, ok := s.users[sess.UserID()]
	if !ok {
		return domain.Session{}, domain.User{}, domain.ErrInvalidRefreshToken
	}
	tok.spentAt = now
	s.tokens[next.Hash] = &refreshToken{session: sess.ID(), expiresAt: pgTime(policy.CapExpiry(sess.CreatedAt(), next.ExpiresAt))}
	sess = domain.RehydrateSession(sess.ID(), sess.UserID(), sess.CreatedAt(), now, sess.RevokedAt(), client.Clean())
	s.sessions[sess.ID()] = sess
	if event != nil {
		e := *event
		e.UserID, e.SessionID = sess.UserID(), sess.ID()
		s.appendLocked(e)
	}
	return sess, owner, nil
}

// RevokeSession ends a session; unknown or already revoked sessions are fine.
func (s *Store) RevokeSession(_ context.Context, id domain.SessionID, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoke(id, pgTime(now))
	return nil
}

// RevokeSessionByRefreshToken ends the session token belongs to, spent,
// expired or live, and returns it; an unknown token is fine.
func (s *Store) RevokeSessionByRefreshToken(_ context.Context, token domain.RefreshTokenHash, now time.Time) (domain.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, ok := s.tokens[token]
	if !ok {
		return domain.Session{}, nil
	}
	s.revoke(tok.session, pgTime(now))
	return s.sessions[tok.session], nil
}

// SessionByRefreshToken returns the session of a live token.
func (s *Store) SessionByRefreshToken(_ context.Context, token domain.RefreshTokenHash, now time.Time) (domain.Session, error) {
	now = pgTime(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, ok := s.tokens[token]
	if !ok || !tok.spentAt.IsZero() || !tok.expiresAt.After(now) {
		return domain.Session{}, fmt.Errorf("memory: session by refresh token: %w", domain.ErrNotFound)
	}
	return s.sessions[tok.session], nil
}

// SessionsOfUser scans every session: fine for a development store.
func (s *Store) SessionsOfUser(_ context.Context, user domain.UserID, now time.Time, policy domain.SessionPolicy, limit int) ([]domain.Session, error) {
	if limit < 1 {
		return nil, fmt.Errorf("memory: sessions of user: limit %d is not positive", limit)
	}
	now = pgTime(now)
	s.mu.Lock()
	var out []domain.Session
	for _, sess := range s.sessions {
		if sess.UserID() == user && policy.Usable(sess, now) {
			out = append(out, sess)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b domain.Session) int {
		if c := b.CreatedAt().Compare(a.CreatedAt()); c != 0 {
			return c
		}
		return strings.Compare(string(b.ID()), string(a.ID()))
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// RevokeUserSession ends the user's session id; anyone else's is not found.
func (s *Store) RevokeUserSession(_ context.Context, user domain.UserID, id domain.SessionID, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[id]
	if !ok || sess.UserID() != user {
		return fmt.Errorf("memory: revoke user session: %w", domain.ErrNotFound)
	}
	s.revoke(id, pgTime(now))
	return nil
}

// RevokeOtherSessions ends the user's active sessions but keep.
func (s *Store) RevokeOtherSessions(_ context.Context, user domain.UserID, keep domain.SessionID, now time.Time) (int, error) {
	now = pgTime(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.revokeOthers(user, keep, now), nil
}

// revokeOthers ends the user's active sessions but keep and counts them.
// Callers hold s.mu.
func (s *Store) revokeOthers(user domain.UserID, keep domain.SessionID, now time.Time) int {
	n := 0
	for id, sess := range s.sessions {
		if sess.UserID() == user && id != keep && sess.Active() {
			s.revoke(id, now)
			n++
		}
	}
	return n
}

// RevokeUserSessions ends the user's active sessions and counts them; under
// the store's one mutex concurrent calls cannot count a session twice.
func (s *Store) RevokeUserSessions(_ context.Context, user domain.UserID, now time.Time) (int, error) {
	now = pgTime(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, sess := range s.sessions {
		if sess.UserID() == user && sess.Active() {
			s.revoke(id, now)
			n++
		}
	}
	return n, nil
}

// SessionByID returns the session with its owner, or domain.ErrNotFound
// when no such session exists.
func (s *Store) SessionByID(_ context.Context, id domain.SessionID) (domain.Session, domain.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[id]
	if !ok {
		return domain.Session{}, domain.User{}, fmt.Errorf("memory: session by id: %w", domain.ErrNotFound)
	}
	owner, ok := s.users[sess.UserID()]
	if !ok {
		return domain.Session{}, domain.User{}, fmt.Errorf("memory: session by id: owner: %w", domain.ErrNotFound)
	}
	return sess, owner, nil
}

// revoke keeps the first revocation time. Callers hold s.mu.
func (s *Store) revoke(id domain.SessionID, now time.Time) {
	sess, ok := s.sessions[id]
	if !ok || !sess.Active() {
		return
	}
	s.sessions[id] = domain.RehydrateSession(sess.ID(), sess.UserID(), sess.CreatedAt(), sess.LastUsedAt(), now, sess.Client())
}

// ClaimLoginAttempt applies policy.Claim under the store's mutex.
func (s *Store) ClaimLoginAttempt(_ context.Context, key domain.ThrottleKey, now time.Time, policy domain.ThrottlePolicy) (bool, time.Time, error) {
	now = pgTime(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.throttle) >= s.sweepAt {
		for k, e := range s.throttle {
			if e.policy.Expired(e.state, now) {
				delete(s.throttle, k)
			}
		}
		// Sweep again only once the map has doubled past what survived,
		// so a store full of live keys does not sweep on every claim.
		s.sweepAt = max(throttleSweepAt, 2*len(s.throttle))
	}
	st, admitted := policy.Claim(s.throttle[key].state, now)
	if admitted {
		st.LockedUntil = pgTime(st.LockedUntil)
		s.throttle[key] = throttleEntry{state: st, policy: policy}
	}
	return admitted, st.LockedUntil, nil
}

// ResetLoginAttempts forgets key.
func (s *Store) ResetLoginAttempts(_ context.Context, key domain.ThrottleKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.throttle, key)
	return nil
}

// PruneLoginThrottle forgets keys whose failures are older than the
// window and whose lock has ended (see the port).
func (s *Store) PruneLoginThrottle(_ context.Context, now time.Time, policy domain.ThrottlePolicy) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, e := range s.throttle {
		if !e.state.LockedUntil.After(now) && !e.state.WindowStart.Add(policy.Window).After(now) {
			delete(s.throttle, k)
			n++
		}
	}
	return n, nil
}

// ReleaseLoginAttempt gives back one unevaluated attempt (see the port).
func (s *Store) ReleaseLoginAttempt(_ context.Context, key domain.ThrottleKey, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.throttle[key]
	switch {
	case !ok:
	case e.state.Failures <= 1 && !e.state.LockedUntil.After(now):
		delete(s.throttle, key)
	case e.state.Failures > 1:
		e.state.Failures--
		s.throttle[key] = e
	}
	return nil
}

// Append stores e, dropping the oldest tenth of the log when it is full.
func (s *Store) Append(_ context.Context, e domain.AuditEvent) error {
	if err := checkEvent(e); err != nil {
		return fmt.Errorf("memory: append event: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appendLocked(e)
	return nil
}

func checkEvent(e domain.AuditEvent) error {
	if _, err := domain.ParseEventID(string(e.ID)); err != nil {
		return err
	}
	_, err := domain.ParseEventType(string(e.Type))
	return err
}

// appendLocked stores a checked event. Callers hold s.mu.
func (s *Store) appendLocked(e domain.AuditEvent) {
	e.At = pgTime(e.At)
	e.Client = e.Client.Clean()
	if len(s.events) >= MaxEvents {
		s.events = slices.Delete(s.events, 0, MaxEvents/10)
	}
	s.events = append(s.events, e)
}

// Events filters and sorts on every call: fine for a development store.
func (s *Store) Events(_ context.Context, f ports.EventFilter) ([]domain.AuditEvent, error) {
	if f.Limit < 1 {
		return nil, fmt.Errorf("memory: events: limit %d is not positive", f.Limit)
	}
	before := ports.EventCursor{At: pgTime(f.Before.At), ID: f.Before.ID}
	s.mu.Lock()
	var out []domain.AuditEvent
	for _, e := range s.events {
		if (f.UserID == "" || e.UserID == f.UserID) && (f.Type == "" || e.Type == f.Type) &&
			(before.IsZero() || compareEvent(e, before) < 0) {
			out = append(out, e)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b domain.AuditEvent) int { return compareEvent(b, ports.EventCursor{At: a.At, ID: a.ID}) })
	if len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// compareEvent orders e against a cursor position by (At, ID), the order
// of the Postgres index auth_events_at_id_idx (uuid compares like its
// canonical string).
func compareEvent(e domain.AuditEvent, c ports.EventCursor) int {
	if d := e.At.Compare(c.At); d != 0 {
		return d
	}
	return strings.Compare(string(e.ID), string(c.ID))
}

func rehydrateUser(u domain.User, hash string) domain.User {
	return domain.RehydrateUser(u.ID(), u.Email(), u.Name(), u.Role(), hash, pgTime(u.CreatedAt()))
}

func emailKey(e domain.Email) string { return strings.ToLower(e.String()) }

// pgTime truncates to the microsecond, the resolution of Postgres
// timestamptz (pgx truncates when it encodes), so both stores hand back
// identical times and compare expiry at the same resolution.
func pgTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Truncate(time.Microsecond).UTC()
}
