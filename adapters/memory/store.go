// Package memory implements the store ports in process memory: a demo
// store and a fast fake for tests. It passes the same contract as the
// database stores (adapters/repotest). Everything is lost when the process
// exits.
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
	_ ports.Users         = (*Store)(nil)
	_ ports.Passwords     = (*Store)(nil)
	_ ports.Sessions      = (*Store)(nil)
	_ ports.LoginThrottle = (*Store)(nil)
	_ ports.AuditLog      = (*Store)(nil)
	_ ports.Pinger        = (*Store)(nil)
	_ ports.Transactor    = (*Store)(nil)
	_ ports.EmailTokens   = (*Store)(nil)
	_ ports.Outbox        = (*Store)(nil)
)

// Bounds that keep memory finite under a flood of attacker-chosen emails
// or logged failures.
const (
	// MaxEvents is how many audit events the store keeps; past it the
	// oldest tenth is dropped.
	MaxEvents = 100_000
	// throttleSweepAt is the number of throttle keys at which a claim first
	// forgets the expired ones.
	throttleSweepAt = 10_000
)

// Store keeps everything in maps behind one mutex: every call is atomic,
// and a transaction holds the mutex from start to end, so transactions
// are serial. A failed transaction is rolled back from an undo log.
type Store struct {
	*view
}

type data struct {
	mu        sync.Mutex
	users     map[domain.UserID]domain.User
	byEmail   map[string]domain.UserID // by Email.Key
	passwords map[domain.UserID]string
	sessions  map[domain.SessionID]domain.Session
	tokens    map[domain.RefreshTokenHash]domain.RefreshTokenRecord
	throttle  map[domain.ThrottleKey]throttleEntry
	sweepAt   int
	events    []domain.AuditEvent // in append order

	emailTokens map[domain.EmailTokenHash]domain.EmailToken
	outbox      map[domain.MailID]outboxEntry
	mailCaps    map[domain.MailCapKey]domain.MailCapState

	totp       map[domain.UserID]domain.TOTPCredential
	recovery   map[domain.UserID]map[domain.RecoveryCodeHash]bool
	challenges map[domain.MFATokenHash]domain.MFAChallenge
	passkeys   map[domain.PasskeyID]domain.Passkey
	ceremonies map[domain.CeremonyHash]domain.Ceremony
}

type throttleEntry struct {
	state   domain.ThrottleState
	policy  domain.ThrottlePolicy // the policy it was claimed under, to know when it expires
	audited time.Time             // the end of the last lock recorded (MarkLockAudited)
}

// view is the store as one caller sees it: on its own (undo nil: each
// call takes the mutex) or inside a transaction (the mutex is held; each
// change logs how to take it back).
type view struct {
	d    *data
	undo *[]func()
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{view: &view{d: &data{
		users:     make(map[domain.UserID]domain.User),
		byEmail:   make(map[string]domain.UserID),
		passwords: make(map[domain.UserID]string),
		sessions:  make(map[domain.SessionID]domain.Session),
		tokens:    make(map[domain.RefreshTokenHash]domain.RefreshTokenRecord),
		throttle:  make(map[domain.ThrottleKey]throttleEntry),
		sweepAt:   throttleSweepAt,

		emailTokens: make(map[domain.EmailTokenHash]domain.EmailToken),
		outbox:      make(map[domain.MailID]outboxEntry),
		mailCaps:    make(map[domain.MailCapKey]domain.MailCapState),

		totp:       make(map[domain.UserID]domain.TOTPCredential),
		recovery:   make(map[domain.UserID]map[domain.RecoveryCodeHash]bool),
		challenges: make(map[domain.MFATokenHash]domain.MFAChallenge),
		passkeys:   make(map[domain.PasskeyID]domain.Passkey),
		ceremonies: make(map[domain.CeremonyHash]domain.Ceremony),
	}}}
}

// Ping always succeeds: memory is always there.
func (s *Store) Ping(context.Context) error { return nil }

// WithinTx runs fn with the mutex held throughout. fn must use only the
// Stores it is given: a call on the Store itself would wait for the mutex
// fn holds.
func (s *Store) WithinTx(_ context.Context, fn func(ports.Stores) error) error {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	var undo []func()
	rollback := func() {
		for _, f := range slices.Backward(undo) {
			f()
		}
	}
	defer func() {
		if p := recover(); p != nil {
			rollback()
			panic(p)
		}
	}()
	tx := &view{d: s.d, undo: &undo}
	err := fn(ports.Stores{Users: tx, Passwords: tx, Sessions: tx, Audit: tx, EmailTokens: tx, Outbox: tx, Factors: tx, Passkeys: tx})
	if err != nil {
		rollback()
	}
	return err
}

// lock takes the mutex unless a transaction holds it; call the result to release.
func (v *view) lock() func() {
	if v.undo != nil {
		return func() {}
	}
	v.d.mu.Lock()
	return v.d.mu.Unlock
}

// put sets m[k] and, in a transaction, logs how to restore it.
func put[K comparable, V any](v *view, m map[K]V, k K, val V) {
	if v.undo != nil {
		old, had := m[k]
		*v.undo = append(*v.undo, func() {
			if had {
				m[k] = old
			} else {
				delete(m, k)
			}
		})
	}
	m[k] = val
}

// CreateUser inserts u; an email with another user's key is
// domain.ErrEmailTaken.
func (v *view) CreateUser(_ context.Context, u domain.User) error {
	if _, err := domain.ParseUserID(string(u.ID())); err != nil {
		return fmt.Errorf("memory: create user: %w", err)
	}
	key := emailKey(u.Email())
	defer v.lock()()
	if _, taken := v.d.byEmail[key]; taken {
		return fmt.Errorf("memory: create user: %w", domain.ErrEmailTaken)
	}
	if _, dup := v.d.users[u.ID()]; dup {
		return errors.New("memory: create user: duplicate id")
	}
	put(v, v.d.users, u.ID(), domain.RehydrateUser(u.ID(), u.Email(), u.EmailVerified(), u.Name(), u.Role(), pgTime(u.CreatedAt())))
	put(v, v.d.byEmail, key, u.ID())
	return nil
}

// UserByEmail returns domain.ErrNotFound when no user has that email.
func (v *view) UserByEmail(_ context.Context, email domain.Email) (domain.User, error) {
	defer v.lock()()
	id, ok := v.d.byEmail[emailKey(email)]
	if !ok {
		return domain.User{}, fmt.Errorf("memory: user by email: %w", domain.ErrNotFound)
	}
	return v.d.users[id], nil
}

// UserByID returns domain.ErrNotFound when no such user exists.
func (v *view) UserByID(_ context.Context, id domain.UserID) (domain.User, error) {
	defer v.lock()()
	u, ok := v.d.users[id]
	if !ok {
		return domain.User{}, fmt.Errorf("memory: user by id: %w", domain.ErrNotFound)
	}
	return u, nil
}

// SetRole changes the user's role; an unknown role is an error (the
// database's CHECK constraint's counterpart). No updated_at is kept.
func (v *view) SetRole(_ context.Context, id domain.UserID, role domain.Role, _ time.Time) error {
	defer v.lock()()
	u, ok := v.d.users[id]
	if !ok {
		return fmt.Errorf("memory: set role: %w", domain.ErrNotFound)
	}
	changed, err := u.WithRole(role)
	if err != nil {
		return fmt.Errorf("memory: set role: %w", err)
	}
	put(v, v.d.users, id, changed)
	return nil
}

// ListUsers filters and sorts on every call. Canonical lower-case UUIDs
// compare as strings in the byte order Postgres sorts its uuid column in.
func (v *view) ListUsers(_ context.Context, f ports.UserFilter) ([]domain.User, error) {
	if f.Limit < 1 {
		return nil, fmt.Errorf("memory: list users: limit %d is not positive", f.Limit)
	}
	if f.After != "" {
		if _, err := domain.ParseUserID(string(f.After)); err != nil {
			return nil, fmt.Errorf("memory: list users: cursor: %w", err)
		}
	}
	needle := strings.ToLower(f.EmailContains)
	unlock := v.lock()
	page := make([]domain.User, 0, min(f.Limit, len(v.d.users)))
	for id, u := range v.d.users {
		if id > f.After && strings.Contains(strings.ToLower(u.Email().String()), needle) {
			page = append(page, u)
		}
	}
	unlock()
	slices.SortFunc(page, func(a, b domain.User) int { return strings.Compare(string(a.ID()), string(b.ID())) })
	if len(page) > f.Limit {
		page = page[:f.Limit]
	}
	return page, nil
}

// SetPassword gives a known user a password hash.
func (v *view) SetPassword(_ context.Context, user domain.UserID, hash string, _ time.Time) error {
	defer v.lock()()
	if _, ok := v.d.users[user]; !ok {
		return fmt.Errorf("memory: set password: %w", domain.ErrNotFound)
	}
	put(v, v.d.passwords, user, hash)
	return nil
}

// PasswordHash returns the user's hash, or domain.ErrNotFound.
func (v *view) PasswordHash(_ context.Context, user domain.UserID) (string, error) {
	defer v.lock()()
	hash, ok := v.d.passwords[user]
	if !ok {
		return "", fmt.Errorf("memory: password hash: %w", domain.ErrNotFound)
	}
	return hash, nil
}

// SwapPasswordHash is a compare-and-swap under the mutex.
func (v *view) SwapPasswordHash(_ context.Context, user domain.UserID, oldHash, newHash string, _ time.Time) error {
	defer v.lock()()
	if err := v.checkHash(user, oldHash); err != nil {
		return fmt.Errorf("memory: swap password hash: %w", err)
	}
	put(v, v.d.passwords, user, newHash)
	return nil
}

// HoldPassword checks the hash; inside a transaction the mutex keeps it so.
func (v *view) HoldPassword(_ context.Context, user domain.UserID, hash string) error {
	defer v.lock()()
	if got, ok := v.d.passwords[user]; !ok || got != hash {
		return fmt.Errorf("memory: hold password: %w", domain.ErrPasswordChanged)
	}
	return nil
}

// checkHash: domain.ErrNotFound for a user without a password,
// domain.ErrPasswordChanged for another hash. Callers hold the mutex.
func (v *view) checkHash(user domain.UserID, want string) error {
	got, ok := v.d.passwords[user]
	switch {
	case !ok:
		return domain.ErrNotFound
	case got != want:
		return domain.ErrPasswordChanged
	}
	return nil
}

// CreateSession stores sess and its first refresh token; the user must
// exist (the database has a foreign key).
func (v *view) CreateSession(_ context.Context, sess domain.Session, first domain.IssuedRefreshToken) error {
	if first.SessionID != "" && first.SessionID != sess.ID() {
		return errors.New("memory: create session: first refresh token names another session")
	}
	if _, err := domain.ParseSessionID(string(sess.ID())); err != nil {
		return fmt.Errorf("memory: create session: %w", err)
	}
	defer v.lock()()
	if _, ok := v.d.users[sess.UserID()]; !ok {
		return errors.New("memory: create session: unknown user")
	}
	if _, dup := v.d.sessions[sess.ID()]; dup {
		return errors.New("memory: create session: duplicate id")
	}
	if _, dup := v.d.tokens[first.Hash]; dup {
		return errors.New("memory: create session: duplicate refresh token")
	}
	put(v, v.d.sessions, sess.ID(), domain.RehydrateSession(sess.ID(), sess.UserID(), pgTime(sess.CreatedAt()),
		pgTime(sess.LastUsedAt()), pgTime(sess.RevokedAt()), sess.Client().Clean(), sess.Methods()))
	put(v, v.d.tokens, first.Hash, domain.RefreshTokenRecord{Hash: first.Hash, SessionID: sess.ID(), ExpiresAt: pgTime(first.ExpiresAt)})
	return nil
}

// RefreshToken returns the token in any state, its session and owner.
func (v *view) RefreshToken(_ context.Context, hash domain.RefreshTokenHash) (domain.RefreshTokenRecord, domain.Session, domain.User, error) {
	defer v.lock()()
	tok, ok := v.d.tokens[hash]
	if !ok {
		return domain.RefreshTokenRecord{}, domain.Session{}, domain.User{}, fmt.Errorf("memory: refresh token: %w", domain.ErrNotFound)
	}
	sess := v.d.sessions[tok.SessionID]
	return tok, sess, v.d.users[sess.UserID()], nil
}

// Rotate spends r.Spent, stores r.Next and records the use. A sibling
// rotation spends nothing: r.Spent must already be spent, in r.Session.
func (v *view) Rotate(_ context.Context, r domain.Rotation) error {
	defer v.lock()()
	tok, ok := v.d.tokens[r.Spent]
	switch {
	case !ok || tok.SessionID != r.Session:
		return errors.New("memory: rotate: the presented token is not a token of this session")
	case r.Spends() && !tok.SpentAt.IsZero():
		return errors.New("memory: rotate: the presented token is not live in this session")
	case !r.Spends() && tok.SpentAt.IsZero():
		return errors.New("memory: rotate: a sibling of a token not yet spent")
	}
	if _, dup := v.d.tokens[r.Next.Hash]; dup {
		return errors.New("memory: rotate: duplicate next token")
	}
	at := pgTime(r.At)
	if r.Spends() {
		tok.SpentAt = at
		put(v, v.d.tokens, r.Spent, tok)
	}
	put(v, v.d.tokens, r.Next.Hash, domain.RefreshTokenRecord{Hash: r.Next.Hash, SessionID: r.Session, ExpiresAt: pgTime(r.Next.ExpiresAt)})
	put(v, v.d.sessions, r.Session, v.d.sessions[r.Session].Used(at, r.Client))
	return nil
}

// SessionByID returns the session with its owner.
func (v *view) SessionByID(_ context.Context, id domain.SessionID) (domain.Session, domain.User, error) {
	defer v.lock()()
	sess, ok := v.d.sessions[id]
	if !ok {
		return domain.Session{}, domain.User{}, fmt.Errorf("memory: session by id: %w", domain.ErrNotFound)
	}
	owner, ok := v.d.users[sess.UserID()]
	if !ok {
		return domain.Session{}, domain.User{}, fmt.Errorf("memory: session by id: owner: %w", domain.ErrNotFound)
	}
	return sess, owner, nil
}

// SessionsOfUser scans every session.
func (v *view) SessionsOfUser(_ context.Context, user domain.UserID, now time.Time, policy domain.SessionPolicy, limit int) ([]domain.Session, error) {
	if limit < 1 {
		return nil, fmt.Errorf("memory: sessions of user: limit %d is not positive", limit)
	}
	now = pgTime(now)
	unlock := v.lock()
	var out []domain.Session
	for _, sess := range v.d.sessions {
		if sess.UserID() == user && policy.Usable(sess, now) {
			out = append(out, sess)
		}
	}
	unlock()
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

// RevokeSession ends a session; unknown or already revoked sessions are fine.
func (v *view) RevokeSession(_ context.Context, id domain.SessionID, now time.Time) error {
	defer v.lock()()
	if sess, ok := v.d.sessions[id]; ok && sess.Active() {
		put(v, v.d.sessions, id, sess.Revoked(pgTime(now)))
	}
	return nil
}

// RevokeSessions ends the user's active sessions but keep and counts them.
func (v *view) RevokeSessions(_ context.Context, user domain.UserID, keep domain.SessionID, now time.Time) (int, error) {
	now = pgTime(now)
	defer v.lock()()
	n := 0
	for id, sess := range v.d.sessions {
		if sess.UserID() == user && id != keep && sess.Active() {
			put(v, v.d.sessions, id, sess.Revoked(now))
			n++
		}
	}
	return n, nil
}

// ClaimLoginAttempt applies policy.Claim under the mutex.
func (v *view) ClaimLoginAttempt(_ context.Context, key domain.ThrottleKey, now time.Time, policy domain.ThrottlePolicy) (bool, time.Time, error) {
	now = pgTime(now)
	defer v.lock()()
	d := v.d
	if len(d.throttle) >= d.sweepAt {
		for k, e := range d.throttle {
			if e.policy.Expired(e.state, now) {
				delete(d.throttle, k)
			}
		}
		// Sweep again only once the map has doubled past what survived,
		// so a store full of live keys does not sweep on every claim.
		d.sweepAt = max(throttleSweepAt, 2*len(d.throttle))
	}
	st, admitted := policy.Claim(d.throttle[key].state, now)
	if admitted {
		e := d.throttle[key]
		e.state, e.policy = st, policy
		e.state.LockedUntil = pgTime(st.LockedUntil)
		d.throttle[key] = e
	}
	return admitted, st.LockEnd(now), nil
}

// MarkLockAudited notes key's lock in force at now as recorded, reporting
// whether it was not yet.
func (v *view) MarkLockAudited(_ context.Context, key domain.ThrottleKey, now time.Time) (bool, error) {
	now = pgTime(now)
	defer v.lock()()
	e, ok := v.d.throttle[key]
	if !ok || !e.state.LockedUntil.After(now) || e.audited.Equal(e.state.LockedUntil) {
		return false, nil
	}
	e.audited = e.state.LockedUntil
	v.d.throttle[key] = e
	return true, nil
}

// ResetLoginAttempts forgets key.
func (v *view) ResetLoginAttempts(_ context.Context, key domain.ThrottleKey) error {
	defer v.lock()()
	delete(v.d.throttle, key)
	return nil
}

// PruneLoginThrottle forgets up to b.Limit keys whose window and lock are
// over.
func (v *view) PruneLoginThrottle(_ context.Context, now time.Time, policy domain.ThrottlePolicy, b ports.PruneBatch) (ports.PruneResult, error) {
	if b.Limit < 1 {
		return ports.PruneResult{}, fmt.Errorf("memory: prune login throttle: limit %d is not positive", b.Limit)
	}
	defer v.lock()()
	n := 0
	for k, e := range v.d.throttle {
		if n == b.Limit {
			break
		}
		if !e.state.LockedUntil.After(now) && !e.state.WindowStart.Add(policy.Window).After(now) {
			delete(v.d.throttle, k)
			n++
		}
	}
	return ports.PruneResult{Pruned: n, Done: n < b.Limit}, nil
}

// ReleaseLoginAttempt gives back one unevaluated attempt.
func (v *view) ReleaseLoginAttempt(_ context.Context, key domain.ThrottleKey, now time.Time) error {
	defer v.lock()()
	e, ok := v.d.throttle[key]
	switch {
	case !ok:
	case e.state.Failures <= 1 && !e.state.LockedUntil.After(now):
		delete(v.d.throttle, key)
	case e.state.Failures > 1:
		e.state.Failures--
		v.d.throttle[key] = e
	}
	return nil
}

// Append stores e, dropping the oldest tenth of the log when it is full.
func (v *view) Append(_ context.Context, e domain.AuditEvent) error {
	if _, err := domain.ParseEventID(string(e.ID)); err != nil {
		return fmt.Errorf("memory: append event: %w", err)
	}
	if _, err := domain.ParseEventType(string(e.Type)); err != nil {
		return fmt.Errorf("memory: append event: %w", err)
	}
	e.At = pgTime(e.At)
	e.Client = e.Client.Clean()
	defer v.lock()()
	d := v.d
	if v.undo != nil {
		old := d.events
		*v.undo = append(*v.undo, func() { d.events = old })
	}
	if len(d.events) >= MaxEvents {
		// A fresh slice, not an in-place delete: the undo log may hold the old one.
		d.events = slices.Clone(d.events[MaxEvents/10:])
	}
	d.events = append(d.events, e)
	return nil
}

// Events filters and sorts on every call.
func (v *view) Events(_ context.Context, f ports.EventFilter) ([]domain.AuditEvent, error) {
	if f.Limit < 1 {
		return nil, fmt.Errorf("memory: events: limit %d is not positive", f.Limit)
	}
	before := ports.EventCursor{At: pgTime(f.Before.At), ID: f.Before.ID}
	unlock := v.lock()
	var out []domain.AuditEvent
	for _, e := range v.d.events {
		if (f.UserID == "" || e.UserID == f.UserID) && (f.Type == "" || e.Type == f.Type) &&
			(before.IsZero() || compareEvent(e, before) < 0) {
			out = append(out, e)
		}
	}
	unlock()
	slices.SortFunc(out, func(a, b domain.AuditEvent) int { return compareEvent(b, ports.EventCursor{At: a.At, ID: a.ID}) })
	if len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// compareEvent orders e against a cursor by (At, ID), the order of the
// database index (a uuid compares like its canonical string).
func compareEvent(e domain.AuditEvent, c ports.EventCursor) int {
	if d := e.At.Compare(c.At); d != 0 {
		return d
	}
	return strings.Compare(string(e.ID), string(c.ID))
}

func emailKey(e domain.Email) string { return e.Key() }

// pgTime truncates to the microsecond, the resolution of the database
// stores, so every store hands back identical times.
func pgTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Truncate(time.Microsecond).UTC()
}
