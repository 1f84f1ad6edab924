// Package repotest is the one contract suite for the store ports. Every
// implementation (adapters/memory, adapters/postgres) runs it from its own
// tests, so they cannot drift apart:
//
//	func TestContract(t *testing.T) {
//		repotest.Run(t, func(t *testing.T) repotest.Store { return newStore(t) })
//	}
//
// The changes that span several stores are made the way the use cases
// make them, through ports.Transactor.WithinTx: registration (a user and
// its password), a login (the password held while the session is
// created), a password change (the swap and the revocation of the other
// sessions), and refresh-token rotation, which is the real use case,
// application/sessions.Service.Refresh, run over the store. The races
// are real too: they contend on the store's own transactions and locks,
// never on anything in the test.
//
// Times come from fixed clocks and are whole microseconds (the resolution
// of Postgres timestamptz), so every assertion is exact.
package repotest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// Store is what an implementation must provide.
type Store interface {
	ports.Users
	ports.Passwords
	ports.Sessions
	ports.LoginThrottle
	ports.AuditLog
	ports.Pinger
	ports.Transactor
	ports.Pruner
	ports.EmailTokens
	ports.Outbox
	ports.SecondFactors
	ports.Passkeys
}

type contractCase struct {
	name string
	run  func(t *testing.T, st Store)
}

// Run runs the contract against stores made by newStore, which must return
// a new, empty store for each call (and clean it up via t.Cleanup).
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	t.Helper()
	for _, cases := range [][]contractCase{
		userCases, passwordCases, sessionCases, refreshCases, leewayCases, revokeCases, throttleCases, auditCases, txCases, pruneCases, emailCases, mfaCases, passkeyCases,
	} {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				tc.run(t, newStore(t))
			})
		}
	}
}

// t0 is the suite's fixed "now".
var t0 = time.Date(2030, time.March, 4, 5, 6, 7, 123456000, time.UTC)

const (
	ttl = 720 * time.Hour
	// hash is every user's first password hash; a password change or a
	// rehash writes newHash or rehashed.
	hash       = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA"
	newHash    = "$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdG5ld3NhbHQ$bmV3cGFzc3dvcmRuZXdwYXNzd29yZG5ld3Bhc3M"
	rehashed   = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA"
	concurrent = 20
	// rounds repeats the races whose interleavings vary, so one that
	// breaks them has many chances to show.
	rounds = 20
)

var (
	firefox = domain.ClientInfo{IP: "203.0.113.7", UserAgent: "Mozilla/5.0 Firefox/140.0"}
	curl    = domain.ClientInfo{IP: "2001:db8::1", UserAgent: "curl/8.14"}
	// noPolicy sets no idle or age limit: the cases not about session policy.
	noPolicy = domain.SessionPolicy{}
	// policy is the production default: a week idle, thirty days in all.
	policy = domain.SessionPolicy{IdleTimeout: 168 * time.Hour, MaxAge: 720 * time.Hour}
	// otp is a second factor's RFC 8176 value, to show a list of methods
	// keeps its order.
	otp = domain.AuthMethod("otp")
)

var userCases = []contractCase{
	{"Users/CreateThenGetByEmailAndID", testCreateThenGet},
	{"Users/EmailVerifiedRoundTrips", testEmailVerified},
	{"Users/EmailLookupIsCaseInsensitive", testEmailLookupCaseInsensitive},
	{"Users/AdminRoleRoundTrips", testAdminRole},
	{"Users/UnknownEmailIsNotFound", testUnknownEmail},
	{"Users/UnknownIDIsNotFound", testUnknownID},
	{"Users/DuplicateEmailIsTaken", testDuplicateEmail},
	{"Users/DuplicateEmailDifferentCaseIsTaken", testDuplicateEmailDifferentCase},
	{"Users/SpellingsOfOneAddressAreOneAccount", testSpellingsOfOneAddress},
	{"Users/DuplicateIDIsAnError", testDuplicateID},
	{"Users/ConcurrentCreateSameEmail", testConcurrentCreateSameEmail},
	{"Users/SetRole", testSetRole},
	{"Users/SetRoleShowsInSessionOwnerAndRefresh", testSetRoleShowsInSessions},
	{"Users/SetRoleUnknownUserIsNotFound", testSetRoleUnknownUser},
	{"Users/SetRoleUnknownRoleChangesNothing", testSetRoleUnknownRole},
	{"Users/ListAllInIDOrder", testListUsersAll},
	{"Users/ListFilterIsCaseInsensitivePlainSubstring", testListUsersFilter},
	{"Users/ListPagesWithoutGapsOrDuplicates", testListUsersPages},
	{"Users/ListPagesFiltered", testListUsersPagesFiltered},
	{"Users/ListRejectsBadLimitAndCursor", testListUsersBadInput},
	{"Ping/Answers", testPing},
}

// ---- users ----

func testCreateThenGet(t *testing.T, st Store) {
	ctx := t.Context()
	u := newUser(t, "ada@example.com")
	mustNil(t, st.CreateUser(ctx, u))

	got, err := st.UserByEmail(ctx, mustEmail(t, "ada@example.com"))
	mustNil(t, err)
	assertUser(t, got, u)

	got, err = st.UserByID(ctx, u.ID())
	mustNil(t, err)
	assertUser(t, got, u)
	if got.EmailVerified() {
		t.Fatal("a new user's email reads back verified")
	}
	// A user is an identity: created without a password, it has none.
	_, err = st.PasswordHash(ctx, u.ID())
	mustIs(t, err, domain.ErrNotFound)
}

// A new user's email is unproven; a user stored with a proven one (an
// import) reads back so.
func testEmailVerified(t *testing.T, st Store) {
	ctx := t.Context()
	unverified := newUser(t, "ada@example.com")
	verified := domain.RehydrateUser(newUserID(), mustEmail(t, "grace@example.com"), true, "Grace", domain.RoleUser, t0)
	mustNil(t, st.CreateUser(ctx, unverified))
	mustNil(t, st.CreateUser(ctx, verified))
	for _, want := range []domain.User{unverified, verified} {
		got, err := st.UserByID(ctx, want.ID())
		mustNil(t, err)
		assertUser(t, got, want)
		got, err = st.UserByEmail(ctx, want.Email())
		mustNil(t, err)
		assertUser(t, got, want)
	}
	listed := listUsers(t, st, ports.UserFilter{EmailContains: "grace", Limit: 10})
	assertUsers(t, listed, []domain.User{verified})
}

func testEmailLookupCaseInsensitive(t *testing.T, st Store) {
	ctx := t.Context()
	// A row written before emails were case-folded: stored as it came.
	u := domain.RehydrateUser(newUserID(), mustEmail(t, "Mixed.Case@Example.COM"), false, "Ada", domain.RoleUser, t0)
	mustNil(t, st.CreateUser(ctx, u))

	got, err := st.UserByEmail(ctx, mustEmail(t, "mixed.case@example.com"))
	mustNil(t, err)
	assertUser(t, got, u)
}

func testAdminRole(t *testing.T, st Store) {
	ctx := t.Context()
	u := domain.RehydrateUser(newUserID(), mustEmail(t, "root@example.com"), false, "", domain.RoleAdmin, t0)
	mustNil(t, st.CreateUser(ctx, u))
	got, err := st.UserByID(ctx, u.ID())
	mustNil(t, err)
	assertUser(t, got, u)
}

func testUnknownEmail(t *testing.T, st Store) {
	ctx := t.Context()
	mustNil(t, st.CreateUser(ctx, newUser(t, "ada@example.com")))
	_, err := st.UserByEmail(ctx, mustEmail(t, "grace@example.com"))
	mustIs(t, err, domain.ErrNotFound)
}

func testUnknownID(t *testing.T, st Store) {
	ctx := t.Context()
	mustNil(t, st.CreateUser(ctx, newUser(t, "ada@example.com")))
	_, err := st.UserByID(ctx, newUserID())
	mustIs(t, err, domain.ErrNotFound)
	_, err = st.UserByID(ctx, domain.UserID("not-a-uuid"))
	mustIs(t, err, domain.ErrNotFound)
}

func testDuplicateEmail(t *testing.T, st Store) {
	ctx := t.Context()
	first := createUser(t, st, "ada@example.com")
	second := newUser(t, "ada@example.com")
	mustIs(t, st.CreateUser(ctx, second), domain.ErrEmailTaken)
	// Through a transaction, as registration does it, and the second's
	// password does not land either.
	mustIs(t, register(ctx, st, second, newHash), domain.ErrEmailTaken)

	got, err := st.UserByEmail(ctx, mustEmail(t, "ada@example.com"))
	mustNil(t, err)
	assertUser(t, got, first)
	_, err = st.UserByID(ctx, second.ID())
	mustIs(t, err, domain.ErrNotFound)
	assertHash(t, st, first, hash)
	_, err = st.PasswordHash(ctx, second.ID())
	mustIs(t, err, domain.ErrNotFound)
}

// testSpellingsOfOneAddress: the store keys accounts by domain.Email.Key,
// so precomposed and combining accents, an IDNA domain in Unicode or
// punycode, and upper case are one account; the address comes back as the
// first registration typed it.
func testSpellingsOfOneAddress(t *testing.T, st Store) {
	ctx := t.Context()
	first := newUser(t, "ädä@exämple.com")
	mustNil(t, st.CreateUser(ctx, first))
	for _, spelling := range []string{"a\u0308da\u0308@exa\u0308mple.com", "ädä@xn--exmple-cua.com", "ÄDÄ@EXÄMPLE.COM"} {
		mustIs(t, st.CreateUser(ctx, newUser(t, spelling)), domain.ErrEmailTaken)
		got, err := st.UserByEmail(ctx, mustEmail(t, spelling))
		mustNil(t, err)
		if got.ID() != first.ID() || got.Email().String() != "ädä@exämple.com" {
			t.Fatalf("UserByEmail(%q) = %s %q, want %s as first typed", spelling, got.ID(), got.Email(), first.ID())
		}
	}
}

func testDuplicateEmailDifferentCase(t *testing.T, st Store) {
	ctx := t.Context()
	mustNil(t, st.CreateUser(ctx, newUser(t, "ada@example.com")))
	shouting := domain.RehydrateUser(newUserID(), mustEmail(t, "ADA@Example.com"), false, "", domain.RoleUser, t0)
	mustIs(t, st.CreateUser(ctx, shouting), domain.ErrEmailTaken)
	_, err := st.UserByID(ctx, shouting.ID())
	mustIs(t, err, domain.ErrNotFound)
}

func testDuplicateID(t *testing.T, st Store) {
	ctx := t.Context()
	first := newUser(t, "ada@example.com")
	mustNil(t, st.CreateUser(ctx, first))
	again := domain.RehydrateUser(first.ID(), mustEmail(t, "grace@example.com"), false, "", domain.RoleUser, t0)
	err := st.CreateUser(ctx, again)
	if err == nil || errors.Is(err, domain.ErrEmailTaken) {
		t.Fatalf("CreateUser with a duplicate id = %v, want a non-nil error that is not ErrEmailTaken", err)
	}
	_, err = st.UserByEmail(ctx, mustEmail(t, "grace@example.com"))
	mustIs(t, err, domain.ErrNotFound)
	got, err := st.UserByID(ctx, first.ID())
	mustNil(t, err)
	assertUser(t, got, first)
}

// Twenty sign-ups of one address, in assorted cases, made by CreateUser
// alone, or as registration makes them (the user and its password in one
// transaction), or half and half: exactly one succeeds, every other is
// ErrEmailTaken and leaves nothing. Repeated, as the interleavings vary.
func testConcurrentCreateSameEmail(t *testing.T, st Store) {
	for round := range rounds {
		withPassword := [](func(i int) bool){
			func(int) bool { return false },
			func(int) bool { return true },
			func(i int) bool { return i%2 == 1 },
		}[round%3]
		concurrentCreateSameEmail(t, st, fmt.Sprintf("race%d", round), withPassword)
	}
}

func concurrentCreateSameEmail(t *testing.T, st Store, local string, withPassword func(i int) bool) {
	t.Helper()
	ctx := t.Context()
	spellings := []string{local + "@example.com", strings.ToUpper(local) + "@Example.com",
		strings.ToUpper(local + "@example.com"), local + "@EXAMPLE.com"}
	users := make([]domain.User, concurrent)
	for i := range users {
		users[i] = domain.RehydrateUser(newUserID(), mustEmail(t, spellings[i%len(spellings)]), false, "Racer", domain.RoleUser, t0)
	}
	errs := together(concurrent, func(i int) error {
		if withPassword(i) {
			return register(ctx, st, users[i], hash)
		}
		return st.CreateUser(ctx, users[i])
	})

	winner, taken := -1, 0
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("%s: CreateUser succeeded for goroutines %d and %d; want exactly one", local, winner, i)
			}
			winner = i
		case errors.Is(err, domain.ErrEmailTaken):
			taken++
		default:
			t.Errorf("%s: goroutine %d: CreateUser = %v, want nil or ErrEmailTaken", local, i, err)
		}
	}
	if winner < 0 || taken != concurrent-1 {
		t.Fatalf("%s: got winner=%d and %d ErrEmailTaken; want exactly 1 success and %d ErrEmailTaken", local, winner, taken, concurrent-1)
	}
	got, err := st.UserByEmail(ctx, mustEmail(t, spellings[0]))
	mustNil(t, err)
	assertUser(t, got, users[winner])
	for i, u := range users {
		if i == winner {
			continue
		}
		_, err := st.UserByID(ctx, u.ID())
		mustIs(t, err, domain.ErrNotFound)
		_, err = st.PasswordHash(ctx, u.ID())
		mustIs(t, err, domain.ErrNotFound)
	}
	if withPassword(winner) {
		assertHash(t, st, users[winner], hash)
	} else {
		_, err = st.PasswordHash(ctx, users[winner].ID())
		mustIs(t, err, domain.ErrNotFound)
	}
	assertUsers(t, listUsers(t, st, ports.UserFilter{EmailContains: local + "@", Limit: 2 * concurrent}), users[winner:winner+1])
}

func testSetRole(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	other := createUser(t, st, "grace@example.com")
	t1 := t0.Add(time.Minute)

	mustNil(t, st.SetRole(ctx, u.ID(), domain.RoleAdmin, t1))
	admin := domain.RehydrateUser(u.ID(), u.Email(), u.EmailVerified(), u.Name(), domain.RoleAdmin, u.CreatedAt())
	got, err := st.UserByID(ctx, u.ID())
	mustNil(t, err)
	assertUser(t, got, admin)
	got, err = st.UserByEmail(ctx, u.Email())
	mustNil(t, err)
	assertUser(t, got, admin)

	// The role it already has: no error, no change.
	mustNil(t, st.SetRole(ctx, u.ID(), domain.RoleAdmin, t1))
	got, err = st.UserByID(ctx, u.ID())
	mustNil(t, err)
	assertUser(t, got, admin)

	got, err = st.UserByID(ctx, other.ID())
	mustNil(t, err)
	assertUser(t, got, other)

	mustNil(t, st.SetRole(ctx, u.ID(), domain.RoleUser, t1.Add(time.Minute)))
	got, err = st.UserByID(ctx, u.ID())
	mustNil(t, err)
	assertUser(t, got, u)
	// The credential is not the identity: a role change leaves it.
	assertHash(t, st, u, hash)
}

// A role change reaches the owner that SessionByID and RefreshToken
// return: that is how it reaches the next access token.
func testSetRoleShowsInSessions(t *testing.T, st Store) {
	ctx := t.Context()
	u, sess, first := startSession(t, st)
	t1 := t0.Add(time.Minute)
	mustNil(t, st.SetRole(ctx, u.ID(), domain.RoleAdmin, t1))
	admin := domain.RehydrateUser(u.ID(), u.Email(), u.EmailVerified(), u.Name(), domain.RoleAdmin, u.CreatedAt())

	_, owner, err := st.SessionByID(ctx, sess.ID())
	mustNil(t, err)
	assertUser(t, owner, admin)
	_, _, owner, err = st.RefreshToken(ctx, first.Hash())
	mustNil(t, err)
	assertUser(t, owner, admin)

	r, err := refresh(t, st, first.Plaintext(), t1, noPolicy, curl)
	mustNil(t, err)
	assertUser(t, r.owner, admin)
	if r.claims.Role != domain.RoleAdmin {
		t.Fatalf("the refreshed access token carries role %q, want admin", r.claims.Role)
	}
}

func testSetRoleUnknownUser(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	mustIs(t, st.SetRole(ctx, newUserID(), domain.RoleAdmin, t0), domain.ErrNotFound)
	mustIs(t, st.SetRole(ctx, domain.UserID("not-a-uuid"), domain.RoleAdmin, t0), domain.ErrNotFound)
	got, err := st.UserByID(ctx, u.ID())
	mustNil(t, err)
	assertUser(t, got, u)
}

func testSetRoleUnknownRole(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	err := st.SetRole(ctx, u.ID(), domain.Role("root"), t0)
	if err == nil || errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("SetRole(root) = %v, want an error that is not ErrNotFound", err)
	}
	got, err := st.UserByID(context.WithoutCancel(ctx), u.ID())
	mustNil(t, err)
	assertUser(t, got, u)
}

// createUsers stores one user per email, in an order unrelated to their
// ids, and returns them sorted by id (the order ListUsers promises).
func createUsers(t *testing.T, st Store, emails ...string) []domain.User {
	t.Helper()
	users := make([]domain.User, len(emails))
	for i, e := range emails {
		users[i] = newUser(t, e)
	}
	for _, i := range mrand.Perm(len(users)) {
		if err := st.CreateUser(t.Context(), users[i]); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
	}
	slices.SortFunc(users, func(a, b domain.User) int { return strings.Compare(a.ID().String(), b.ID().String()) })
	return users
}

func listUsers(t *testing.T, st Store, f ports.UserFilter) []domain.User {
	t.Helper()
	got, err := st.ListUsers(t.Context(), f)
	if err != nil {
		t.Fatalf("ListUsers(%+v): %v", f, err)
	}
	return got
}

func assertUsers(t *testing.T, got, want []domain.User) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d users %v, want %d %v", len(got), emails(got), len(want), emails(want))
	}
	for i := range want {
		assertUser(t, got[i], want[i])
	}
}

func emails(users []domain.User) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.Email().String()
	}
	return out
}

func testListUsersAll(t *testing.T, st Store) {
	if got := listUsers(t, st, ports.UserFilter{Limit: 10}); len(got) != 0 {
		t.Fatalf("empty store listed %v", emails(got))
	}
	users := createUsers(t, st, "ada@example.com", "grace@example.com", "edsger@example.org", "barbara@example.net")
	assertUsers(t, listUsers(t, st, ports.UserFilter{Limit: 10}), users)
	assertUsers(t, listUsers(t, st, ports.UserFilter{Limit: 4}), users)
	assertUsers(t, listUsers(t, st, ports.UserFilter{Limit: 1}), users[:1])
	assertUsers(t, listUsers(t, st, ports.UserFilter{Limit: 10, After: users[3].ID()}), nil)
	// A cursor need not name an existing user: it is only a position.
	assertUsers(t, listUsers(t, st, ports.UserFilter{Limit: 10, After: domain.UserID("00000000-0000-0000-0000-000000000000")}), users)
}

func testListUsersFilter(t *testing.T, st Store) {
	ctx := t.Context()
	users := createUsers(t, st, "ada@example.com", "grace@example.org")
	// Stored as they came (older rows, imports): mixed case and the
	// characters LIKE would treat as wildcards or escapes.
	for _, raw := range []string{"Mixed.Case@Example.COM", "per%cent@example.net", "under_score@example.net", `back\slash@example.net`} {
		u := domain.RehydrateUser(newUserID(), domain.RehydrateEmail(raw, strings.ToLower(raw)), false, "", domain.RoleUser, t0)
		mustNil(t, st.CreateUser(ctx, u))
		users = append(users, u)
	}
	slices.SortFunc(users, func(a, b domain.User) int { return strings.Compare(a.ID().String(), b.ID().String()) })
	byEmail := func(want ...string) []domain.User {
		var out []domain.User
		for _, u := range users {
			if slices.Contains(want, u.Email().String()) {
				out = append(out, u)
			}
		}
		return out
	}
	for _, tc := range []struct {
		needle string
		want   []domain.User
	}{
		{"", users},
		{"EXAMPLE.COM", byEmail("ada@example.com", "Mixed.Case@Example.COM")},
		{"mixed.case", byEmail("Mixed.Case@Example.COM")},
		{"ADA@", byEmail("ada@example.com")},
		{"%", byEmail("per%cent@example.net")},
		{"_", byEmail("under_score@example.net")},
		{`\`, byEmail(`back\slash@example.net`)},
		{"r%c", byEmail("per%cent@example.net")},
		{"a%e", nil},
		{"e_s", nil},
		{"nobody", nil},
	} {
		assertUsers(t, listUsers(t, st, ports.UserFilter{EmailContains: tc.needle, Limit: 10}), tc.want)
	}
}

func testListUsersPages(t *testing.T, st Store) {
	var all []string
	for i := range 7 {
		all = append(all, "user"+string(rune('a'+i))+"@example.com")
	}
	users := createUsers(t, st, all...)
	for _, limit := range []int{1, 2, 3, 7, 8} {
		var walked []domain.User
		var after domain.UserID
		for pages := 0; ; pages++ {
			if pages > len(users) {
				t.Fatalf("limit %d: no end after %d pages", limit, pages)
			}
			page := listUsers(t, st, ports.UserFilter{After: after, Limit: limit})
			if len(page) > limit {
				t.Fatalf("limit %d: page of %d", limit, len(page))
			}
			if len(page) == 0 {
				break
			}
			walked = append(walked, page...)
			after = page[len(page)-1].ID()
		}
		assertUsers(t, walked, users)
	}
}

func testListUsersPagesFiltered(t *testing.T, st Store) {
	users := createUsers(t, st, "a1@keep.example.com", "b1@drop.example.com", "a2@keep.example.com",
		"b2@drop.example.com", "a3@keep.example.com", "b3@drop.example.com")
	var keep []domain.User
	for _, u := range users {
		if strings.Contains(u.Email().String(), "keep") {
			keep = append(keep, u)
		}
	}
	first := listUsers(t, st, ports.UserFilter{EmailContains: "KEEP", Limit: 2})
	assertUsers(t, first, keep[:2])
	rest := listUsers(t, st, ports.UserFilter{EmailContains: "KEEP", Limit: 2, After: first[1].ID()})
	assertUsers(t, rest, keep[2:])
}

func testListUsersBadInput(t *testing.T, st Store) {
	ctx := t.Context()
	createUser(t, st, "ada@example.com")
	for _, f := range []ports.UserFilter{
		{Limit: 0},
		{Limit: -1},
		{Limit: 10, After: "not-a-uuid"},
	} {
		if got, err := st.ListUsers(ctx, f); err == nil {
			t.Errorf("ListUsers(%+v) = %d users, nil; want an error", f, len(got))
		}
	}
}

func testPing(t *testing.T, st Store) {
	mustNil(t, st.Ping(t.Context()))
}

// ---- helpers ----

func newUserID() domain.UserID       { return domain.UserID(uuid.Must(uuid.NewV7()).String()) }
func newSessionID() domain.SessionID { return domain.SessionID(uuid.Must(uuid.NewV7()).String()) }
func newEventID() domain.EventID     { return domain.EventID(uuid.Must(uuid.NewV7()).String()) }

func mustEmail(t *testing.T, raw string) domain.Email {
	t.Helper()
	e, err := domain.NewEmail(raw)
	if err != nil {
		t.Fatalf("NewEmail(%q): %v", raw, err)
	}
	return e
}

func newUser(t *testing.T, email string) domain.User {
	t.Helper()
	u, err := domain.NewUser(newUserID(), mustEmail(t, email), "Ada Lovelace", t0)
	if err != nil {
		t.Fatalf("NewUser: %v", err)
	}
	return u
}

// register stores u with password hash h in one transaction, as
// account.Registration does.
func register(ctx context.Context, st Store, u domain.User, h string) error {
	return st.WithinTx(ctx, func(tx ports.Stores) error {
		if err := tx.Users.CreateUser(ctx, u); err != nil {
			return err
		}
		return tx.Passwords.SetPassword(ctx, u.ID(), h, u.CreatedAt())
	})
}

// createUser registers a user of email whose password hash is hash.
func createUser(t *testing.T, st Store, email string) domain.User {
	t.Helper()
	u := newUser(t, email)
	if err := register(t.Context(), st, u, hash); err != nil {
		t.Fatalf("register: %v", err)
	}
	return u
}

func newToken(t *testing.T, now time.Time) domain.RefreshToken {
	t.Helper()
	tok, err := domain.NewRefreshToken(rand.Reader, now, ttl)
	if err != nil {
		t.Fatalf("NewRefreshToken: %v", err)
	}
	return tok
}

// newSession is a session of u opened at at by a password login, from client.
func newSession(u domain.User, at time.Time, client domain.ClientInfo) domain.Session {
	return domain.NewSession(newSessionID(), domain.NewAuthentication(u, at, domain.MethodPassword), at, client)
}

// startSession registers a user and opens a session of it at t0 with its
// first token.
func startSession(t *testing.T, st Store) (domain.User, domain.Session, domain.RefreshToken) {
	t.Helper()
	u := createUser(t, st, uuid.NewString()+"@example.com")
	sess, tok := startSessionOf(t, st, u)
	return u, sess, tok
}

// startSessionOf opens another session of u at t0 with its first token.
func startSessionOf(t *testing.T, st Store, u domain.User) (domain.Session, domain.RefreshToken) {
	t.Helper()
	return startSessionAt(t, st, u, t0, domain.ClientInfo{})
}

func startSessionAt(t *testing.T, st Store, u domain.User, at time.Time, client domain.ClientInfo) (domain.Session, domain.RefreshToken) {
	t.Helper()
	sess := newSession(u, at, client)
	tok := newToken(t, at)
	if err := st.CreateSession(t.Context(), sess, tok.Record(sess.ID())); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return sess, tok
}

// together runs fn(0..n-1) in n goroutines released at once by a barrier,
// so they contend as hard as the scheduler allows, and returns their errors.
func together(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

func assertUser(t *testing.T, got, want domain.User) {
	t.Helper()
	if got.ID() != want.ID() || got.Email() != want.Email() || got.EmailVerified() != want.EmailVerified() ||
		got.Name() != want.Name() || got.Role() != want.Role() || !got.CreatedAt().Equal(want.CreatedAt()) {
		t.Fatalf("user mismatch:\n got  id=%s email=%s verified=%t name=%q role=%s created=%s\n want id=%s email=%s verified=%t name=%q role=%s created=%s",
			got.ID(), got.Email(), got.EmailVerified(), got.Name(), got.Role(), got.CreatedAt().Format(time.RFC3339Nano),
			want.ID(), want.Email(), want.EmailVerified(), want.Name(), want.Role(), want.CreatedAt().Format(time.RFC3339Nano))
	}
}

// assertSession compares what a session is: id, owner, creation,
// revocation and the methods its login proved.
func assertSession(t *testing.T, got, want domain.Session) {
	t.Helper()
	if got.ID() != want.ID() || got.UserID() != want.UserID() || !got.CreatedAt().Equal(want.CreatedAt()) ||
		!got.RevokedAt().Equal(want.RevokedAt()) || !slices.Equal(got.Methods(), want.Methods()) {
		t.Fatalf("session mismatch:\n got  id=%s user=%s created=%s revoked=%s methods=%q\n want id=%s user=%s created=%s revoked=%s methods=%q",
			got.ID(), got.UserID(), got.CreatedAt().Format(time.RFC3339Nano), got.RevokedAt().Format(time.RFC3339Nano), got.Methods(),
			want.ID(), want.UserID(), want.CreatedAt().Format(time.RFC3339Nano), want.RevokedAt().Format(time.RFC3339Nano), want.Methods())
	}
}

// assertSessionFull also compares the last use and its client.
func assertSessionFull(t *testing.T, got, want domain.Session) {
	t.Helper()
	assertSession(t, got, want)
	if !got.LastUsedAt().Equal(want.LastUsedAt()) || got.Client() != want.Client() {
		t.Fatalf("session %s: last use %s client %+v; want %s %+v", got.ID(),
			got.LastUsedAt().Format(time.RFC3339Nano), got.Client(), want.LastUsedAt().Format(time.RFC3339Nano), want.Client())
	}
}

// assertStored checks the stored session is exactly want.
func assertStored(t *testing.T, st Store, want domain.Session) {
	t.Helper()
	got, _, err := st.SessionByID(context.WithoutCancel(t.Context()), want.ID())
	if err != nil {
		t.Fatalf("SessionByID(%s): %v", want.ID(), err)
	}
	assertSessionFull(t, got, want)
}

// assertActive checks the stored session is sess, not revoked (its last
// use and client whatever they are now).
func assertActive(t *testing.T, st Store, sess domain.Session) {
	t.Helper()
	assertRevokedAt(t, st, sess, time.Time{})
}

// assertRevokedAt checks the stored session is sess revoked at exactly at
// (at zero: not revoked).
func assertRevokedAt(t *testing.T, st Store, sess domain.Session, at time.Time) {
	t.Helper()
	got, _, err := st.SessionByID(context.WithoutCancel(t.Context()), sess.ID())
	if err != nil {
		t.Fatalf("SessionByID(%s): %v", sess.ID(), err)
	}
	assertSession(t, got, domain.RehydrateSession(sess.ID(), sess.UserID(), sess.CreatedAt(), got.LastUsedAt(), at, got.Client(), sess.Methods()))
	if got.Active() != at.IsZero() {
		t.Fatalf("session %s: Active = %t with revoked_at %s", sess.ID(), got.Active(), got.RevokedAt())
	}
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func mustIs(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want errors.Is(err, %q)", err, target)
	}
}

func mustNotIs(t *testing.T, err, target error) {
	t.Helper()
	if errors.Is(err, target) {
		t.Fatalf("error = %v, want it not to be %q", err, target)
	}
}
