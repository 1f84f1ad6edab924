package repotest

import (
	"context"
	"crypto/rand"
	"errors"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/authd/authd/application"
	"github.com/authd/authd/application/sessions"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// Refresh-token rotation is the use case itself, sessions.Service.Refresh,
// run over the store: the store's part (RefreshToken locking the token and
// its session, Rotate, RevokeSession and the audit event, in one
// transaction) is exactly what the use case makes of it.
var refreshCases = []contractCase{
	{"Refresh/HappyPath", testRefreshHappyPath},
	{"Refresh/CarriesTheLoginsMethodsAndTime", testRefreshCarriesMethods},
	{"Refresh/TouchesLastUseAndClient", testRefreshTouches},
	{"Refresh/SpentTokenIsReuseAndRevokesSession", testRefreshReuse},
	{"Refresh/ExpiredTokenIsInvalid", testRefreshExpired},
	{"Refresh/SpentAndExpiredTokenIsReuse", testRefreshSpentExpired},
	{"Refresh/UnknownTokenIsInvalid", testRefreshUnknown},
	{"Refresh/RevokedSessionTokenIsInvalid", testRefreshRevokedSession},
	{"Refresh/ReuseRevokesOnlyItsSession", testReuseRevokesOnlyItsSession},
	{"Refresh/IdleSessionIsInvalidAndUnchanged", testRefreshIdle},
	{"Refresh/UseRestartsTheIdleTimer", testRefreshIdleRestarts},
	{"Refresh/TooOldSessionIsInvalid", testRefreshTooOld},
	{"Refresh/NextTokenNeverOutlivesMaxAge", testRefreshCapsExpiry},
	{"Refresh/WritesItsEventInTheSameTransaction", testRefreshWritesEvent},
	{"Refresh/ConcurrentRefreshesOfOneToken", testConcurrentRefresh},
}

// refreshed is what a successful refresh handed out.
type refreshed struct {
	next   string // the successor refresh token, in plaintext
	owner  domain.User
	claims domain.AccessClaims // what the new access token asserts
}

// refresher is a sessions.Service over a store, at a fixed time, under a
// session policy; its other ports are fakes.
type refresher struct {
	svc    *sessions.Service
	issued *sync.Map // access token -> domain.AccessClaims
}

func newRefresher(t *testing.T, st Store, now time.Time, p domain.SessionPolicy) *refresher {
	t.Helper()
	clock := fixedClock(now)
	issued := new(sync.Map)
	svc, err := sessions.New(sessions.Deps{
		Tx: yieldingTx{st}, Sessions: st, Issuer: issuer{clock: clock, issued: issued},
		Clock: clock, IDs: uuidIDs{}, Random: rand.Reader, Audit: application.NewRecorder(st, uuidIDs{}, clock, nil),
	}, application.Policies{RefreshTTL: ttl, Session: p})
	if err != nil {
		t.Fatalf("sessions.New: %v", err)
	}
	return &refresher{svc: svc, issued: issued}
}

// refresh presents a refresh token; safe from any goroutine.
func (r *refresher) refresh(ctx context.Context, presented string, client domain.ClientInfo) (refreshed, error) {
	pair, err := r.svc.Refresh(ctx, sessions.RefreshInput{RefreshToken: presented, Client: client})
	if err != nil {
		return refreshed{}, err
	}
	claims, ok := r.issued.Load(pair.AccessToken)
	if !ok {
		return refreshed{}, errors.New("the refresh returned an access token the issuer never issued")
	}
	return refreshed{next: pair.RefreshToken, owner: pair.User, claims: claims.(domain.AccessClaims)}, nil
}

// refresh presents a refresh token at now under p.
func refresh(t *testing.T, st Store, presented string, now time.Time, p domain.SessionPolicy, client domain.ClientInfo) (refreshed, error) {
	t.Helper()
	return newRefresher(t, st, now, p).refresh(t.Context(), presented, client)
}

// yieldingTx runs the store's own transactions, but lets the scheduler
// switch goroutines between a transaction's reads and its writes, as a
// database round trip would: the rotation's read is then really
// concurrent with other rotations, and only the store's locks keep them
// apart. It changes no outcome, only how often a missing lock shows.
type yieldingTx struct{ st Store }

func (y yieldingTx) WithinTx(ctx context.Context, fn func(ports.Stores) error) error {
	return y.st.WithinTx(ctx, func(tx ports.Stores) error {
		tx.Sessions = yieldingSessions{tx.Sessions}
		return fn(tx)
	})
}

type yieldingSessions struct{ ports.Sessions }

func (y yieldingSessions) RefreshToken(ctx context.Context, hash domain.RefreshTokenHash) (domain.RefreshTokenRecord, domain.Session, domain.User, error) {
	rec, sess, u, err := y.Sessions.RefreshToken(ctx, hash)
	runtime.Gosched()
	return rec, sess, u, err
}

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

type uuidIDs struct{}

func (uuidIDs) NewUserID() domain.UserID       { return newUserID() }
func (uuidIDs) NewSessionID() domain.SessionID { return newSessionID() }
func (uuidIDs) NewEventID() domain.EventID     { return newEventID() }
func (uuidIDs) NewMailID() domain.MailID       { return newMailID() }
func (uuidIDs) NewPasskeyID() domain.PasskeyID {
	return domain.PasskeyID(newMailID())
}

// issuer issues an opaque access token per call and remembers its claims.
type issuer struct {
	clock  ports.Clock
	issued *sync.Map
}

func (i issuer) IssueAccessToken(_ context.Context, c domain.AccessClaims) (string, domain.AccessClaims, error) {
	c.IssuedAt = i.clock.Now()
	c.ExpiresAt = c.IssuedAt.Add(15 * time.Minute)
	token := uuid.NewString()
	i.issued.Store(token, c)
	return token, c, nil
}

// mustRefuseRefresh presents a token that must be refused as plain invalid, not
// as reuse.
func mustRefuseRefresh(t *testing.T, st Store, presented string, now time.Time, p domain.SessionPolicy) {
	t.Helper()
	_, err := refresh(t, st, presented, now, p, curl)
	mustIs(t, err, domain.ErrInvalidRefreshToken)
	mustNotIs(t, err, domain.ErrRefreshTokenReused)
}

func testRefreshHappyPath(t *testing.T, st Store) {
	u, sess, first := startSession(t, st)

	t1 := t0.Add(time.Minute)
	r1, err := refresh(t, st, first.Plaintext(), t1, noPolicy, domain.ClientInfo{})
	mustNil(t, err)
	assertUser(t, r1.owner, u)
	if r1.claims.UserID != u.ID() || r1.claims.SessionID != sess.ID() || r1.claims.Role != domain.RoleUser {
		t.Fatalf("access token for user %s session %s role %q; want %s, %s, user", r1.claims.UserID, r1.claims.SessionID, r1.claims.Role, u.ID(), sess.ID())
	}

	t2 := t1.Add(time.Minute)
	r2, err := refresh(t, st, r1.next, t2, noPolicy, domain.ClientInfo{})
	mustNil(t, err)
	assertUser(t, r2.owner, u)
	assertStored(t, st, domain.RehydrateSession(sess.ID(), u.ID(), t0, t2, time.Time{}, domain.ClientInfo{}, sess.Methods()))

	// The successor is stored live, in the same session, for the full TTL.
	hash2, err := domain.ParseRefreshToken(r2.next)
	mustNil(t, err)
	rec, got, owner, err := st.RefreshToken(t.Context(), hash2)
	mustNil(t, err)
	assertRecord(t, rec, domain.RefreshTokenRecord{Hash: hash2, SessionID: sess.ID(), ExpiresAt: t2.Add(ttl)})
	assertSession(t, got, sess)
	assertUser(t, owner, u)
}

// The access tokens of a refreshed session keep the login's methods
// ("amr") and time ("auth_time"): the store hands the session back with them.
func testRefreshCarriesMethods(t *testing.T, st Store) {
	u := createUser(t, st, "ada@example.com")
	at := t0.Add(-time.Hour)
	sess := domain.NewSession(newSessionID(), domain.NewAuthentication(u, at, domain.MethodPassword, otp), at, firefox)
	tok := newToken(t, at)
	mustNil(t, st.CreateSession(t.Context(), sess, tok.Record(sess.ID())))

	next := tok.Plaintext()
	for i := range 2 {
		r, err := refresh(t, st, next, t0.Add(time.Duration(i)*time.Minute), policy, curl)
		mustNil(t, err)
		if want := []domain.AuthMethod{domain.MethodPassword, otp}; !slices.Equal(r.claims.Methods, want) || !r.claims.AuthTime.Equal(at) {
			t.Fatalf("refresh %d: amr %q auth_time %s; want %q, %s", i, r.claims.Methods, r.claims.AuthTime, want, at)
		}
		next = r.next
	}
}

func testRefreshTouches(t *testing.T, st Store) {
	u, sess, first := startSession(t, st)
	t1 := t0.Add(time.Hour)
	r, err := refresh(t, st, first.Plaintext(), t1, policy, curl)
	mustNil(t, err)
	assertUser(t, r.owner, u)
	assertStored(t, st, domain.RehydrateSession(sess.ID(), sess.UserID(), sess.CreatedAt(), t1, time.Time{}, curl, sess.Methods()))

	// A raw client is stored as the use case cleans it.
	t2 := t1.Add(time.Hour)
	raw := domain.ClientInfo{IP: " ::ffff:192.0.2.1 ", UserAgent: "agent\x00 "}
	_, err = refresh(t, st, r.next, t2, policy, raw)
	mustNil(t, err)
	assertStored(t, st, domain.RehydrateSession(sess.ID(), sess.UserID(), sess.CreatedAt(), t2, time.Time{}, raw.Clean(), sess.Methods()))
}

func testRefreshReuse(t *testing.T, st Store) {
	_, sess, first := startSession(t, st)

	t1 := t0.Add(time.Minute)
	r, err := refresh(t, st, first.Plaintext(), t1, noPolicy, domain.ClientInfo{})
	mustNil(t, err)

	// The spent token again: reuse, and the session dies with it.
	t2 := t1.Add(time.Minute)
	_, err = refresh(t, st, first.Plaintext(), t2, noPolicy, firefox)
	mustIs(t, err, domain.ErrRefreshTokenReused)
	mustIs(t, err, domain.ErrInvalidRefreshToken)
	assertRevokedAt(t, st, sess, t2)

	// The newest token, never spent, now fails too, as plain invalid, and
	// so does the spent one: nothing moves the revocation.
	t3 := t2.Add(time.Minute)
	mustRefuseRefresh(t, st, r.next, t3, noPolicy)
	mustRefuseRefresh(t, st, first.Plaintext(), t3, noPolicy)
	assertRevokedAt(t, st, sess, t2)
}

func testRefreshExpired(t *testing.T, st Store) {
	_, sess, tok := startSession(t, st)
	exp := tok.ExpiresAt()

	for _, now := range []time.Time{exp, exp.Add(time.Microsecond), exp.Add(24 * time.Hour)} {
		mustRefuseRefresh(t, st, tok.Plaintext(), now, noPolicy)
	}
	assertStored(t, st, sess) // an expired token neither revokes nor touches

	// One microsecond before expiry it is still live.
	now := exp.Add(-time.Microsecond)
	_, err := refresh(t, st, tok.Plaintext(), now, noPolicy, domain.ClientInfo{})
	mustNil(t, err)
	assertActive(t, st, sess)
}

// A spent token that has also expired is still evidence of theft: reuse,
// and the session is revoked, rather than a plain expiry.
func testRefreshSpentExpired(t *testing.T, st Store) {
	_, sess, first := startSession(t, st)
	t1 := t0.Add(time.Minute)
	_, err := refresh(t, st, first.Plaintext(), t1, noPolicy, domain.ClientInfo{})
	mustNil(t, err)

	late := first.ExpiresAt().Add(time.Hour)
	_, err = refresh(t, st, first.Plaintext(), late, noPolicy, domain.ClientInfo{})
	mustIs(t, err, domain.ErrRefreshTokenReused)
	assertRevokedAt(t, st, sess, late)
}

func testRefreshUnknown(t *testing.T, st Store) {
	_, sess, _ := startSession(t, st)
	mustRefuseRefresh(t, st, newToken(t, t0).Plaintext(), t0, noPolicy)
	assertStored(t, st, sess)
	events, err := st.Events(t.Context(), ports.EventFilter{Limit: 10})
	mustNil(t, err)
	assertEvents(t, events, nil)
}

func testRefreshRevokedSession(t *testing.T, st Store) {
	_, sess, first := startSession(t, st)
	t1 := t0.Add(time.Minute)
	r, err := refresh(t, st, first.Plaintext(), t1, noPolicy, domain.ClientInfo{})
	mustNil(t, err)
	t2 := t1.Add(time.Minute)
	mustNil(t, st.RevokeSession(t.Context(), sess.ID(), t2))

	// Live and spent tokens of a revoked session are both plain invalid,
	// and neither moves revoked_at.
	t3 := t2.Add(time.Minute)
	for _, presented := range []string{r.next, first.Plaintext()} {
		mustRefuseRefresh(t, st, presented, t3, noPolicy)
	}
	assertRevokedAt(t, st, sess, t2)
}

func testReuseRevokesOnlyItsSession(t *testing.T, st Store) {
	_, aSess, aFirst := startSession(t, st)
	_, b, bFirst := startSession(t, st)

	t1 := t0.Add(time.Minute)
	_, err := refresh(t, st, aFirst.Plaintext(), t1, noPolicy, domain.ClientInfo{})
	mustNil(t, err)
	_, err = refresh(t, st, aFirst.Plaintext(), t1, noPolicy, domain.ClientInfo{})
	mustIs(t, err, domain.ErrRefreshTokenReused)
	assertRevokedAt(t, st, aSess, t1)

	_, err = refresh(t, st, bFirst.Plaintext(), t1, noPolicy, domain.ClientInfo{})
	mustNil(t, err)
	assertActive(t, st, b)
}

func testRefreshIdle(t *testing.T, st Store) {
	_, sess, first := startSession(t, st)
	short := domain.SessionPolicy{IdleTimeout: time.Hour, MaxAge: 720 * time.Hour}
	at := t0.Add(time.Hour)
	mustRefuseRefresh(t, st, first.Plaintext(), at, short)
	assertStored(t, st, sess) // neither revoked nor touched

	// The token was not spent: a microsecond earlier it still rotates.
	_, err := refresh(t, st, first.Plaintext(), at.Add(-time.Microsecond), short, curl)
	mustNil(t, err)
}

func testRefreshIdleRestarts(t *testing.T, st Store) {
	_, sess, tok := startSession(t, st)
	short := domain.SessionPolicy{IdleTimeout: time.Hour, MaxAge: 720 * time.Hour}
	at := t0
	next := tok.Plaintext()
	for range 5 { // five hours, never an hour idle
		at = at.Add(59 * time.Minute)
		r, err := refresh(t, st, next, at, short, curl)
		mustNil(t, err)
		next = r.next
	}
	assertStored(t, st, domain.RehydrateSession(sess.ID(), sess.UserID(), t0, at, time.Time{}, curl, sess.Methods()))
}

func testRefreshTooOld(t *testing.T, st Store) {
	_, sess, tok := startSession(t, st)
	p := domain.SessionPolicy{IdleTimeout: time.Hour, MaxAge: 2 * time.Hour}
	at := t0
	next := tok.Plaintext()
	for range 2 {
		at = at.Add(40 * time.Minute)
		r, err := refresh(t, st, next, at, p, curl)
		mustNil(t, err)
		next = r.next
	}
	// Used 40 minutes ago, but two hours old.
	mustRefuseRefresh(t, st, next, t0.Add(2*time.Hour), p)
	assertActive(t, st, sess)
	_, err := refresh(t, st, next, t0.Add(2*time.Hour-time.Microsecond), p, curl)
	mustNil(t, err)
}

// The successor's stored expiry is capped at creation + MaxAge: shown by
// presenting it later with no policy at all, so only the token's own
// expiry can refuse it.
func testRefreshCapsExpiry(t *testing.T, st Store) {
	_, sess, first := startSession(t, st)
	p := domain.SessionPolicy{MaxAge: 2 * time.Hour}
	t1 := t0.Add(90 * time.Minute)
	r, err := refresh(t, st, first.Plaintext(), t1, p, curl) // uncapped it would expire at t1 + 720h
	mustNil(t, err)
	hash2, err := domain.ParseRefreshToken(r.next)
	mustNil(t, err)
	rec, _, _, err := st.RefreshToken(t.Context(), hash2)
	mustNil(t, err)
	end := t0.Add(2 * time.Hour)
	assertRecord(t, rec, domain.RefreshTokenRecord{Hash: hash2, SessionID: sess.ID(), ExpiresAt: end})

	mustRefuseRefresh(t, st, r.next, end, noPolicy)
	_, err = refresh(t, st, r.next, end.Add(-time.Microsecond), noPolicy, curl)
	mustNil(t, err)
}

// A rotation's event commits with it, naming the rotated session; the
// reuse that revokes a session commits its own event with the revocation;
// an unknown token writes nothing.
func testRefreshWritesEvent(t *testing.T, st Store) {
	ctx := t.Context()
	u, sess, first := startSession(t, st)
	t1 := t0.Add(time.Minute)
	_, err := refresh(t, st, first.Plaintext(), t1, policy, curl)
	mustNil(t, err)
	t2 := t1.Add(time.Minute)
	_, err = refresh(t, st, first.Plaintext(), t2, policy, firefox) // spent
	mustIs(t, err, domain.ErrRefreshTokenReused)
	mustRefuseRefresh(t, st, newToken(t, t2).Plaintext(), t2, policy) // unknown
	mustRefuseRefresh(t, st, first.Plaintext(), t2, policy)           // spent, session revoked: nothing left to do

	got, err := st.Events(ctx, ports.EventFilter{Limit: 10})
	mustNil(t, err)
	if len(got) != 2 {
		t.Fatalf("events after a rotation, a reuse and two refusals: %+v; want two", got)
	}
	assertEvents(t, got, []domain.AuditEvent{
		{ID: got[0].ID, At: t2, Type: domain.EventRefreshReuseDetected, UserID: u.ID(), SessionID: sess.ID(), Client: firefox,
			Detail: application.DetailReuseRevokedSession},
		{ID: got[1].ID, At: t1, Type: domain.EventRefreshed, UserID: u.ID(), SessionID: sess.ID(), Client: curl},
	})
}

// Fifty clients present one token at once. The store's transactions take
// them one at a time: exactly one rotates; the next finds the token spent,
// which is reuse, and revokes the session; every later one finds the
// session revoked and is refused (a revoked session refuses before reuse
// is considered). The winner's successor dies with the session.
func testConcurrentRefresh(t *testing.T, st Store) {
	const n = 50
	u, sess, first := startSession(t, st)
	t1 := t0.Add(time.Minute)
	r := newRefresher(t, st, t1, noPolicy)
	results := make([]refreshed, n)
	errs := together(n, func(i int) error {
		var err error
		results[i], err = r.refresh(t.Context(), first.Plaintext(), curl)
		return err
	})

	winner, reused, refused := -1, 0, 0
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("refresh succeeded for goroutines %d and %d; want exactly one", winner, i)
			}
			winner = i
		case errors.Is(err, domain.ErrRefreshTokenReused):
			reused++
		case errors.Is(err, domain.ErrInvalidRefreshToken):
			refused++
		default:
			t.Errorf("goroutine %d: refresh = %v, want nil or ErrInvalidRefreshToken", i, err)
		}
	}
	if winner < 0 || reused != 1 || refused != n-2 {
		t.Fatalf("got winner=%d, %d reuse, %d plain refusals; want 1 success, 1 reuse, %d refusals", winner, reused, refused, n-2)
	}
	assertUser(t, results[winner].owner, u)
	assertRevokedAt(t, st, sess, t1)
	mustRefuseRefresh(t, st, results[winner].next, t1, noPolicy)

	for _, want := range []domain.EventType{domain.EventRefreshed, domain.EventRefreshReuseDetected} {
		got, err := st.Events(t.Context(), ports.EventFilter{Type: want, Limit: n})
		mustNil(t, err)
		if len(got) != 1 || got[0].SessionID != sess.ID() {
			t.Fatalf("%d %s events %+v, want one for session %s", len(got), want, got, sess.ID())
		}
	}
}

func assertRecord(t *testing.T, got, want domain.RefreshTokenRecord) {
	t.Helper()
	if !got.Hash.Equal(want.Hash) || got.SessionID != want.SessionID || !got.ExpiresAt.Equal(want.ExpiresAt) || !got.SpentAt.Equal(want.SpentAt) {
		t.Fatalf("refresh token record:\n got  session=%s expires=%s spent=%s (hash equal: %t)\n want session=%s expires=%s spent=%s",
			got.SessionID, got.ExpiresAt.Format(time.RFC3339Nano), got.SpentAt.Format(time.RFC3339Nano), got.Hash.Equal(want.Hash),
			want.SessionID, want.ExpiresAt.Format(time.RFC3339Nano), want.SpentAt.Format(time.RFC3339Nano))
	}
}
