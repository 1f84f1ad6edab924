// Package repotest is the one contract suite for the repository ports. Every
// implementation (adapters/memory, adapters/postgres) runs it from its own
// tests, so they cannot drift apart:
//
//	func TestContract(t *testing.T) {
//		repotest.Run(t, func(t *testing.T) repotest.Store { return newStore(t) })
//	}
//
// Times come from a fixed clock and are whole microseconds (the resolution of
// Postgres timestamptz), so every assertion is exact.
package repotest

import (
	"context"
	"crypto/rand"
	"errors"
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
	ports.UserRepository
	ports.SessionRepository
	ports.LoginThrottle
	ports.AuditLog
}

// noPolicy sets no idle or age limit: the rotation cases that are not about
// session policy.
var noPolicy = domain.SessionPolicy{}

// t0 is the suite's fixed "now".
var t0 = time.Date(2030, time.March, 4, 5, 6, 7, 123456000, time.UTC)

const (
	ttl        = 720 * time.Hour
	hash       = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA"
	concurrent = 20
)

// Run runs the contract against stores made by newStore, which must return
// a new, empty store for each call (and clean it up via t.Cleanup).
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	t.Helper()
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, st Store)
	}{
		{"Users/CreateThenGetByEmailAndID", testCreateThenGet},
		{"Users/EmailLookupIsCaseInsensitive", testEmailLookupCaseInsensitive},
		{"Users/AdminRoleRoundTrips", testAdminRole},
		{"Users/UnknownEmailIsNotFound", testUnknownEmail},
		{"Users/UnknownIDIsNotFound", testUnknownID},
		{"Users/DuplicateEmailIsTaken", testDuplicateEmail},
		{"Users/DuplicateEmailDifferentCaseIsTaken", testDuplicateEmailDifferentCase},
		{"Users/DuplicateIDIsAnError", testDuplicateID},
		{"Users/UpdatePasswordHash", testUpdatePasswordHash},
		{"Users/UpdatePasswordHashUnknownUserIsNotFound", testUpdatePasswordHashUnknown},
		{"Users/ConcurrentCreateSameEmail", testConcurrentCreateSameEmail},
		{"Users/SetRole", testSetRole},
		{"Users/SetRoleShowsInSessionOwnerAndRotation", testSetRoleShowsInSessions},
		{"Users/SetRoleUnknownUserIsNotFound", testSetRoleUnknownUser},
		{"Users/SetRoleUnknownRoleChangesNothing", testSetRoleUnknownRole},
		{"Users/ListAllInIDOrder", testListUsersAll},
		{"Users/ListFilterIsCaseInsensitivePlainSubstring", testListUsersFilter},
		{"Users/ListPagesWithoutGapsOrDuplicates", testListUsersPages},
		{"Users/ListPagesFiltered", testListUsersPagesFiltered},
		{"Users/ListRejectsBadLimitAndCursor", testListUsersBadInput},
		{"Sessions/CreateThenSessionByIDWithOwner", testCreateSession},
		{"Sessions/UnknownSessionIsNotFound", testUnknownSession},
		{"Sessions/CreateForUnknownUserFails", testCreateSessionUnknownUser},
		{"Sessions/CreateWithTokenOfAnotherSessionFails", testCreateSessionForeignToken},
		{"Rotate/HappyPath", testRotateHappyPath},
		{"Rotate/SpentTokenIsReuseAndRevokesSession", testRotateReuse},
		{"Rotate/ExpiredTokenIsInvalid", testRotateExpired},
		{"Rotate/SpentAndExpiredTokenIsReuse", testRotateSpentExpired},
		{"Rotate/UnknownTokenIsInvalid", testRotateUnknown},
		{"Rotate/RevokedSessionTokenIsInvalid", testRotateRevokedSession},
		{"Rotate/ReuseRevokesOnlyItsSession", testReuseRevokesOnlyItsSession},
		{"Rotate/ConcurrentRotationsOfOneToken", testConcurrentRotate},
		{"Revoke/SessionInvalidatesItsTokens", testRevokeSession},
		{"Revoke/SessionIsIdempotent", testRevokeIdempotent},
		{"Revoke/UnknownSessionIsNoError", testRevokeUnknownSession},
		{"Revoke/ByLiveRefreshToken", testRevokeByLiveToken},
		{"Revoke/BySpentRefreshToken", testRevokeBySpentToken},
		{"Revoke/ByExpiredRefreshToken", testRevokeByExpiredToken},
		{"Revoke/ByUnknownRefreshTokenIsNoError", testRevokeByUnknownToken},
		{"Revoke/UserSessionsCountsOnlyActiveOnes", testRevokeUserSessions},
		{"Revoke/UserSessionsUnknownUserIsZero", testRevokeUserSessionsUnknownUser},
		{"Revoke/ConcurrentUserSessionsCountEachOnce", testConcurrentRevokeUserSessions},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newStore(t))
		})
	}
	runHardening(t, newStore)
	runPassword(t, newStore)
}

// runHardening runs the contract of sessions as first-class objects, the
// login throttle and the audit log.
func runHardening(t *testing.T, newStore func(t *testing.T) Store) {
	t.Helper()
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, st Store)
	}{
		{"Sessions/CreateKeepsLastUseAndClient", testCreateKeepsClient},
		{"Sessions/ByLiveRefreshToken", testSessionByRefreshToken},
		{"Sessions/OfUserUsableNewestFirst", testSessionsOfUser},
		{"Sessions/OfUserLimit", testSessionsOfUserLimit},
		{"Rotate/TouchesLastUseAndClient", testRotateTouches},
		{"Rotate/IdleSessionIsInvalidAndUnchanged", testRotateIdle},
		{"Rotate/UseRestartsTheIdleTimer", testRotateIdleRestarts},
		{"Rotate/TooOldSessionIsInvalid", testRotateTooOld},
		{"Rotate/NextTokenNeverOutlivesMaxAge", testRotateCapsExpiry},
		{"Rotate/ReuseReturnsTheRevokedSession", testRotateReuseReturnsSession},
		{"Rotate/WritesItsEventInTheSameTransaction", testRotateWritesEvent},
		{"Revoke/ByRefreshTokenReturnsTheSession", testRevokeByTokenReturnsSession},
		{"Revoke/UserSessionOnlyTheOwners", testRevokeUserSession},
		{"Revoke/OtherSessionsKeepsOne", testRevokeOtherSessions},
		{"Revoke/ConcurrentOtherSessionsCountEachOnce", testConcurrentRevokeOtherSessions},
		{"Throttle/FreeAttemptsThenBackoff", testThrottleBackoff},
		{"Throttle/BackoffCappedAtMax", testThrottleCap},
		{"Throttle/WindowResetsTheCount", testThrottleWindow},
		{"Throttle/ResetForgetsTheKey", testThrottleReset},
		{"Throttle/ReleaseGivesBackOneAttempt", testThrottleRelease},
		{"Throttle/PruneForgetsOnlyStaleKeys", testThrottlePrune},
		{"Throttle/KeysAreIndependent", testThrottleKeys},
		{"Throttle/ConcurrentClaimsAdmitOnlyTheFreeAttempts", testThrottleConcurrent},
		{"Audit/AppendThenReadNewestFirst", testAuditRoundTrip},
		{"Audit/PagesWithoutGapsOrDuplicates", testAuditPages},
		{"Audit/FilterByUserAndType", testAuditFilter},
		{"Audit/RejectsBadLimit", testAuditBadLimit},
		{"Audit/ConcurrentAppendsAllKept", testAuditConcurrent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newStore(t))
		})
	}
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
}

func testEmailLookupCaseInsensitive(t *testing.T, st Store) {
	ctx := t.Context()
	// A row written before emails were case-folded: stored as it came.
	u := domain.RehydrateUser(newUserID(), domain.RehydrateEmail("Mixed.Case@Example.COM"), "Ada", domain.RoleUser, hash, t0)
	mustNil(t, st.CreateUser(ctx, u))

	got, err := st.UserByEmail(ctx, mustEmail(t, "mixed.case@example.com"))
	mustNil(t, err)
	assertUser(t, got, u)
}

func testAdminRole(t *testing.T, st Store) {
	ctx := t.Context()
	u := domain.RehydrateUser(newUserID(), mustEmail(t, "root@example.com"), "", domain.RoleAdmin, hash, t0)
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
	first := newUser(t, "ada@example.com")
	mustNil(t, st.CreateUser(ctx, first))
	mustIs(t, st.CreateUser(ctx, newUser(t, "ada@example.com")), domain.ErrEmailTaken)

	got, err := st.UserByEmail(ctx, mustEmail(t, "ada@example.com"))
	mustNil(t, err)
	assertUser(t, got, first)
}

func testDuplicateEmailDifferentCase(t *testing.T, st Store) {
	ctx := t.Context()
	mustNil(t, st.CreateUser(ctx, newUser(t, "ada@example.com")))
	shouting := domain.RehydrateUser(newUserID(), domain.RehydrateEmail("ADA@Example.com"), "", domain.RoleUser, hash, t0)
	mustIs(t, st.CreateUser(ctx, shouting), domain.ErrEmailTaken)
	_, err := st.UserByID(ctx, shouting.ID())
	mustIs(t, err, domain.ErrNotFound)
}

func testDuplicateID(t *testing.T, st Store) {
	ctx := t.Context()
	first := newUser(t, "ada@example.com")
	mustNil(t, st.CreateUser(ctx, first))
	again := domain.RehydrateUser(first.ID(), mustEmail(t, "grace@example.com"), "", domain.RoleUser, hash, t0)
	err := st.CreateUser(ctx, again)
	if err == nil || errors.Is(err, domain.ErrEmailTaken) {
		t.Fatalf("CreateUser with a duplicate id = %v, want a non-nil error that is not ErrEmailTaken", err)
	}
	_, err = st.UserByEmail(ctx, mustEmail(t, "grace@example.com"))
	mustIs(t, err, domain.ErrNotFound)
}

func testUpdatePasswordHash(t *testing.T, st Store) {
	ctx := t.Context()
	u := newUser(t, "ada@example.com")
	other := newUser(t, "grace@example.com")
	mustNil(t, st.CreateUser(ctx, u))
	mustNil(t, st.CreateUser(ctx, other))

	const rehashed = "$argon2id$v=19$m=65536,t=3,p=4$bmV3c2FsdG5ld3NhbHQ$bmV3aGFzaG5ld2hhc2huZXdoYXNobmV3aGFzaA"
	mustNil(t, st.UpdatePasswordHash(ctx, u.ID(), hash, rehashed))

	want := domain.RehydrateUser(u.ID(), u.Email(), u.Name(), u.Role(), rehashed, u.CreatedAt())
	got, err := st.UserByID(ctx, u.ID())
	mustNil(t, err)
	assertUser(t, got, want)
	got, err = st.UserByEmail(ctx, u.Email())
	mustNil(t, err)
	assertUser(t, got, want)

	got, err = st.UserByID(ctx, other.ID())
	mustNil(t, err)
	assertUser(t, got, other)
}

func testUpdatePasswordHashUnknown(t *testing.T, st Store) {
	ctx := t.Context()
	mustIs(t, st.UpdatePasswordHash(ctx, newUserID(), hash, hash), domain.ErrNotFound)
	mustIs(t, st.UpdatePasswordHash(ctx, domain.UserID("not-a-uuid"), hash, hash), domain.ErrNotFound)
}

func testConcurrentCreateSameEmail(t *testing.T, st Store) {
	ctx := t.Context()
	users := make([]domain.User, concurrent)
	for i := range users {
		users[i] = newUser(t, "race@example.com")
	}
	errs := together(concurrent, func(i int) error { return st.CreateUser(ctx, users[i]) })

	winner, taken := -1, 0
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("CreateUser succeeded for goroutines %d and %d; want exactly one", winner, i)
			}
			winner = i
		case errors.Is(err, domain.ErrEmailTaken):
			taken++
		default:
			t.Errorf("goroutine %d: CreateUser = %v, want nil or ErrEmailTaken", i, err)
		}
	}
	if winner < 0 || taken != concurrent-1 {
		t.Fatalf("got winner=%d and %d ErrEmailTaken; want exactly 1 success and %d ErrEmailTaken", winner, taken, concurrent-1)
	}
	got, err := st.UserByEmail(ctx, mustEmail(t, "race@example.com"))
	mustNil(t, err)
	assertUser(t, got, users[winner])
}

func testSetRole(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	other := createUser(t, st, "grace@example.com")
	t1 := t0.Add(time.Minute)

	mustNil(t, st.SetRole(ctx, u.ID(), domain.RoleAdmin, t1))
	admin := domain.RehydrateUser(u.ID(), u.Email(), u.Name(), domain.RoleAdmin, u.PasswordHash(), u.CreatedAt())
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
}

// A role change reaches the owner that SessionByID and RotateRefreshToken
// return: that is how it reaches the next access token.
func testSetRoleShowsInSessions(t *testing.T, st Store) {
	ctx := t.Context()
	sess, first := startSession(t, st)
	t1 := t0.Add(time.Minute)
	mustNil(t, st.SetRole(ctx, sess.UserID(), domain.RoleAdmin, t1))

	_, owner, err := st.SessionByID(ctx, sess.ID())
	mustNil(t, err)
	if owner.Role() != domain.RoleAdmin {
		t.Fatalf("SessionByID owner role = %q, want admin", owner.Role())
	}
	_, owner, err = st.RotateRefreshToken(ctx, first.Hash(), newToken(t, t1).Record(""), t1, noPolicy, domain.ClientInfo{}, nil)
	mustNil(t, err)
	if owner.Role() != domain.RoleAdmin {
		t.Fatalf("RotateRefreshToken owner role = %q, want admin", owner.Role())
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
		u := domain.RehydrateUser(newUserID(), domain.RehydrateEmail(raw), "", domain.RoleUser, hash, t0)
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

// ---- sessions ----

func testCreateSession(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	sess := domain.NewSession(newSessionID(), u.ID(), t0, domain.ClientInfo{})
	tok := newToken(t, t0)
	mustNil(t, st.CreateSession(ctx, sess, tok.Record(sess.ID()), ""))

	got, owner, err := st.SessionByID(ctx, sess.ID())
	mustNil(t, err)
	assertSession(t, got, sess)
	assertUser(t, owner, u)
	if !got.Active() {
		t.Fatal("new session is not active")
	}
}

func testUnknownSession(t *testing.T, st Store) {
	ctx := t.Context()
	startSession(t, st)
	_, _, err := st.SessionByID(ctx, newSessionID())
	mustIs(t, err, domain.ErrNotFound)
	_, _, err = st.SessionByID(ctx, domain.SessionID("not-a-uuid"))
	mustIs(t, err, domain.ErrNotFound)
}

func testCreateSessionUnknownUser(t *testing.T, st Store) {
	ctx := t.Context()
	sess := domain.NewSession(newSessionID(), newUserID(), t0, domain.ClientInfo{})
	if err := st.CreateSession(ctx, sess, newToken(t, t0).Record(sess.ID()), ""); err == nil {
		t.Fatal("CreateSession for an unknown user = nil, want an error")
	}
	_, _, err := st.SessionByID(ctx, sess.ID())
	mustIs(t, err, domain.ErrNotFound)
}

func testCreateSessionForeignToken(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	sess := domain.NewSession(newSessionID(), u.ID(), t0, domain.ClientInfo{})
	tok := newToken(t, t0)
	if err := st.CreateSession(ctx, sess, tok.Record(newSessionID()), ""); err == nil {
		t.Fatal("CreateSession with a first token naming another session = nil, want an error")
	}
	_, _, err := st.SessionByID(ctx, sess.ID())
	mustIs(t, err, domain.ErrNotFound)
	_, _, err = st.RotateRefreshToken(ctx, tok.Hash(), newToken(t, t0).Record(""), t0, noPolicy, domain.ClientInfo{}, nil)
	mustIs(t, err, domain.ErrInvalidRefreshToken)
}

// ---- rotation ----

func testRotateHappyPath(t *testing.T, st Store) {
	ctx := t.Context()
	sess, first := startSession(t, st)

	t1 := t0.Add(time.Minute)
	second := newToken(t, t1)
	// next.SessionID is ignored: the new token joins the presented token's session.
	got, owner, err := st.RotateRefreshToken(ctx, first.Hash(), second.Record(newSessionID()), t1, noPolicy, domain.ClientInfo{}, nil)
	mustNil(t, err)
	assertSession(t, got, sess)
	if owner.ID() != sess.UserID() || owner.Email().IsZero() || owner.Role() != domain.RoleUser {
		t.Fatalf("rotation returned owner %v %q %q, want the session's user", owner.ID(), owner.Email(), owner.Role())
	}

	t2 := t1.Add(time.Minute)
	third := newToken(t, t2)
	got, _, err = st.RotateRefreshToken(ctx, second.Hash(), third.Record(""), t2, noPolicy, domain.ClientInfo{}, nil)
	mustNil(t, err)
	assertSession(t, got, sess)

	stored, _, err := st.SessionByID(ctx, sess.ID())
	mustNil(t, err)
	assertSession(t, stored, sess)
}

func testRotateReuse(t *testing.T, st Store) {
	ctx := t.Context()
	sess, first := startSession(t, st)

	t1 := t0.Add(time.Minute)
	second := newToken(t, t1)
	_, _, err := st.RotateRefreshToken(ctx, first.Hash(), second.Record(""), t1, noPolicy, domain.ClientInfo{}, nil)
	mustNil(t, err)

	// The spent token again: reuse, and the session dies with it.
	t2 := t1.Add(time.Minute)
	_, _, err = st.RotateRefreshToken(ctx, first.Hash(), newToken(t, t2).Record(""), t2, noPolicy, domain.ClientInfo{}, nil)
	mustIs(t, err, domain.ErrRefreshTokenReused)
	mustIs(t, err, domain.ErrInvalidRefreshToken)
	assertRevokedAt(t, st, sess, t2)

	// The newest token, never spent, now fails too, as plain invalid.
	t3 := t2.Add(time.Minute)
	_, _, err = st.RotateRefreshToken(ctx, second.Hash(), newToken(t, t3).Record(""), t3, noPolicy, domain.ClientInfo{}, nil)
	mustIs(t, err, domain.ErrInvalidRefreshToken)
	mustNotIs(t, err, domain.ErrRefreshTokenReused)
	assertRevokedAt(t, st, sess, t2)
}

func testRotateExpired(t *testing.T, st Store) {
	ctx := t.Context()
	sess, tok := startSession(t, st)
	exp := tok.ExpiresAt()

	for _, now := range []time.Time{exp, exp.Add(time.Microsecond), exp.Add(24 * time.Hour)} {
		_, _, err := st.RotateRefreshToken(ctx, tok.Hash(), newToken(t, now).Record(""), now, noPolicy, domain.ClientInfo{}, nil)
		mustIs(t, err, domain.ErrInvalidRefreshToken)
		mustNotIs(t, err, domain.ErrRefreshTokenReused)
	}
	stored, _, err := st.SessionByID(ctx, sess.ID())
	mustNil(t, err)
	assertSession(t, stored, sess) // an expired token does not revoke

	// One microsecond before expiry it is still live.
	now := exp.Add(-time.Microsecond)
	got, _, err := st.RotateRefreshToken(ctx, tok.Hash(), newToken(t, now).Record(""), now, noPolicy, domain.ClientInfo{}, nil)
	mustNil(t, err)
	assertSession(t, got, sess)
}

// A spent token that has also expired is still evidence of theft: the
// stores report reuse and revoke rather than a plain expiry.
func testRotateSpentExpired(t *testing.T, st Store) {
	ctx := t.Context()
	sess, first := startSession(t, st)
	t1 := t0.Add(time.Minute)
	_, _, err := st.RotateRefreshToken(ctx, first.Hash(), newToken(t, t1).Record(""), t1, noPolicy, domain.ClientInfo{}, nil)
	mustNil(t, err)

	late := first.ExpiresAt().Add(time.Hour)
	_, _, err = st.RotateRefreshToken(ctx, first.Hash(), newToken(t, late).Record(""), late, noPolicy, domain.ClientInfo{}, nil)
	mustIs(t, err, domain.ErrRefreshTokenReused)
	assertRevokedAt(t, st, sess, late)
}

func testRotateUnknown(t *testing.T, st Store) {
	ctx := t.Context()
	sess, _ := startSession(t, st)
	_, _, err := st.RotateRefreshToken(ctx, newToken(t, t0).Hash(), newToken(t, t0).Record(""), t0, noPolicy, domain.ClientInfo{}, nil)
	mustIs(t, err, domain.ErrInvalidRefreshToken)
	mustNotIs(t, err, domain.ErrRefreshTokenReused)
	stored, _, err := st.SessionByID(ctx, sess.ID())
	mustNil(t, err)
	assertSession(t, stored, sess)
}

func testRotateRevokedSession(t *testing.T, st Store) {
	ctx := t.Context()
	sess, first := startSession(t, st)
	t1 := t0.Add(time.Minute)
	second := newToken(t, t1)
	_, _, err := st.RotateRefreshToken(ctx, first.Hash(), second.Record(""), t1, noPolicy, domain.ClientInfo{}, nil)
	mustNil(t, err)
	t2 := t1.Add(time.Minute)
	mustNil(t, st.RevokeSession(ctx, sess.ID(), t2))

	// Live and spent tokens of a revoked session are both plain invalid,
	// and neither moves revoked_at.
	t3 := t2.Add(time.Minute)
	for _, presented := range []domain.RefreshToken{second, first} {
		_, _, err = st.RotateRefreshToken(ctx, presented.Hash(), newToken(t, t3).Record(""), t3, noPolicy, domain.ClientInfo{}, nil)
		mustIs(t, err, domain.ErrInvalidRefreshToken)
		mustNotIs(t, err, domain.ErrRefreshTokenReused)
	}
	assertRevokedAt(t, st, sess, t2)
}

func testReuseRevokesOnlyItsSession(t *testing.T, st Store) {
	ctx := t.Context()
	a, aFirst := startSession(t, st)
	b, bFirst := startSession(t, st)

	t1 := t0.Add(time.Minute)
	_, _, err := st.RotateRefreshToken(ctx, aFirst.Hash(), newToken(t, t1).Record(""), t1, noPolicy, domain.ClientInfo{}, nil)
	mustNil(t, err)
	_, _, err = st.RotateRefreshToken(ctx, aFirst.Hash(), newToken(t, t1).Record(""), t1, noPolicy, domain.ClientInfo{}, nil)
	mustIs(t, err, domain.ErrRefreshTokenReused)
	assertRevokedAt(t, st, a, t1)

	got, _, err := st.RotateRefreshToken(ctx, bFirst.Hash(), newToken(t, t1).Record(""), t1, noPolicy, domain.ClientInfo{}, nil)
	mustNil(t, err)
	assertSession(t, got, b)
}

func testConcurrentRotate(t *testing.T, st Store) {
	ctx := t.Context()
	sess, first := startSession(t, st)
	t1 := t0.Add(time.Minute)
	next := make([]domain.RefreshToken, concurrent)
	for i := range next {
		next[i] = newToken(t, t1)
	}
	sessions := make([]domain.Session, concurrent)
	errs := together(concurrent, func(i int) error {
		var err error
		sessions[i], _, err = st.RotateRefreshToken(ctx, first.Hash(), next[i].Record(""), t1, noPolicy, domain.ClientInfo{}, nil)
		return err
	})

	winner, rejected, reused := -1, 0, 0
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("rotation succeeded for goroutines %d and %d; want exactly one", winner, i)
			}
			winner = i
		case errors.Is(err, domain.ErrInvalidRefreshToken):
			rejected++
			if errors.Is(err, domain.ErrRefreshTokenReused) {
				reused++
			}
		default:
			t.Errorf("goroutine %d: RotateRefreshToken = %v, want nil or ErrInvalidRefreshToken", i, err)
		}
	}
	if winner < 0 || rejected != concurrent-1 {
		t.Fatalf("got winner=%d and %d rejections; want exactly 1 success and %d ErrInvalidRefreshToken", winner, rejected, concurrent-1)
	}
	assertSession(t, sessions[winner], sess)
	// Losers find the token spent: strict RFC 9700 reuse detection. The
	// first of them to look revokes the session; later ones may find it
	// revoked already (plain invalid), so how many say "reused" depends on
	// timing, but at least one does, and the session, the winner's new
	// token included, is dead.
	if reused < 1 {
		t.Fatalf("no loser reported ErrRefreshTokenReused; want at least one")
	}
	assertRevokedAt(t, st, sess, t1)

	_, _, err := st.RotateRefreshToken(ctx, next[winner].Hash(), newToken(t, t1).Record(""), t1, noPolicy, domain.ClientInfo{}, nil)
	mustIs(t, err, domain.ErrInvalidRefreshToken)
	mustNotIs(t, err, domain.ErrRefreshTokenReused)
}

// ---- revocation ----

func testRevokeSession(t *testing.T, st Store) {
	ctx := t.Context()
	sess, tok := startSession(t, st)
	other, otherTok := startSession(t, st)
	t1 := t0.Add(time.Minute)
	mustNil(t, st.RevokeSession(ctx, sess.ID(), t1))
	assertRevokedAt(t, st, sess, t1)

	_, _, err := st.RotateRefreshToken(ctx, tok.Hash(), newToken(t, t1).Record(""), t1, noPolicy, domain.ClientInfo{}, nil)
	mustIs(t, err, domain.ErrInvalidRefreshToken)
	mustNotIs(t, err, domain.ErrRefreshTokenReused)

	got, _, err := st.RotateRefreshToken(ctx, otherTok.Hash(), newToken(t, t1).Record(""), t1, noPolicy, domain.ClientInfo{}, nil)
	mustNil(t, err)
	assertSession(t, got, other)
}

func testRevokeIdempotent(t *testing.T, st Store) {
	ctx := t.Context()
	sess, _ := startSession(t, st)
	t1 := t0.Add(time.Minute)
	mustNil(t, st.RevokeSession(ctx, sess.ID(), t1))
	mustNil(t, st.RevokeSession(ctx, sess.ID(), t1.Add(time.Hour)))
	assertRevokedAt(t, st, sess, t1) // the first revocation time stays
}

func testRevokeUnknownSession(t *testing.T, st Store) {
	ctx := t.Context()
	sess, _ := startSession(t, st)
	mustNil(t, st.RevokeSession(ctx, newSessionID(), t0))
	mustNil(t, st.RevokeSession(ctx, domain.SessionID("not-a-uuid"), t0))
	stored, _, err := st.SessionByID(ctx, sess.ID())
	mustNil(t, err)
	assertSession(t, stored, sess)
}

func testRevokeByLiveToken(t *testing.T, st Store) {
	ctx := t.Context()
	sess, tok := startSession(t, st)
	other, _ := startSession(t, st)
	t1 := t0.Add(time.Minute)
	_, err := st.RevokeSessionByRefreshToken(ctx, tok.Hash(), t1)
	mustNil(t, err)
	assertRevokedAt(t, st, sess, t1)
	_, err = st.RevokeSessionByRefreshToken(ctx, tok.Hash(), t1.Add(time.Hour))
	mustNil(t, err)
	assertRevokedAt(t, st, sess, t1)

	_, _, err = st.RotateRefreshToken(ctx, tok.Hash(), newToken(t, t1).Record(""), t1, noPolicy, domain.ClientInfo{}, nil)
	mustIs(t, err, domain.ErrInvalidRefreshToken)
	mustNotIs(t, err, domain.ErrRefreshTokenReused)

	stored, _, err := st.SessionByID(ctx, other.ID())
	mustNil(t, err)
	assertSession(t, stored, other)
}

func testRevokeBySpentToken(t *testing.T, st Store) {
	ctx := t.Context()
	sess, first := startSession(t, st)
	t1 := t0.Add(time.Minute)
	second := newToken(t, t1)
	_, _, err := st.RotateRefreshToken(ctx, first.Hash(), second.Record(""), t1, noPolicy, domain.ClientInfo{}, nil)
	mustNil(t, err)

	t2 := t1.Add(time.Minute)
	_, err = st.RevokeSessionByRefreshToken(ctx, first.Hash(), t2)
	mustNil(t, err)
	assertRevokedAt(t, st, sess, t2)
	_, _, err = st.RotateRefreshToken(ctx, second.Hash(), newToken(t, t2).Record(""), t2, noPolicy, domain.ClientInfo{}, nil)
	mustIs(t, err, domain.ErrInvalidRefreshToken)
	mustNotIs(t, err, domain.ErrRefreshTokenReused)
}

func testRevokeByExpiredToken(t *testing.T, st Store) {
	ctx := t.Context()
	sess, tok := startSession(t, st)
	late := tok.ExpiresAt().Add(time.Hour)
	_, err := st.RevokeSessionByRefreshToken(ctx, tok.Hash(), late)
	mustNil(t, err)
	assertRevokedAt(t, st, sess, late)
}

func testRevokeByUnknownToken(t *testing.T, st Store) {
	ctx := t.Context()
	sess, _ := startSession(t, st)
	_, err := st.RevokeSessionByRefreshToken(ctx, newToken(t, t0).Hash(), t0)
	mustNil(t, err)
	stored, _, err := st.SessionByID(ctx, sess.ID())
	mustNil(t, err)
	assertSession(t, stored, sess)
}

func testRevokeUserSessions(t *testing.T, st Store) {
	ctx := t.Context()
	a, aFirst := startSession(t, st)
	_, owner, err := st.SessionByID(ctx, a.ID())
	mustNil(t, err)
	b, bFirst := startSessionOf(t, st, owner)
	ended, _ := startSessionOf(t, st, owner)
	other, otherTok := startSession(t, st)

	t1 := t0.Add(time.Minute)
	mustNil(t, st.RevokeSession(ctx, ended.ID(), t1))
	// A rotated session is still active: it counts.
	_, _, err = st.RotateRefreshToken(ctx, bFirst.Hash(), newToken(t, t1).Record(""), t1, noPolicy, domain.ClientInfo{}, nil)
	mustNil(t, err)

	t2 := t1.Add(time.Minute)
	n, err := st.RevokeUserSessions(ctx, owner.ID(), t2)
	mustNil(t, err)
	if n != 2 {
		t.Fatalf("RevokeUserSessions = %d, want 2 (the already revoked session does not count)", n)
	}
	assertRevokedAt(t, st, a, t2)
	assertRevokedAt(t, st, b, t2)
	assertRevokedAt(t, st, ended, t1)
	_, _, err = st.RotateRefreshToken(ctx, aFirst.Hash(), newToken(t, t2).Record(""), t2, noPolicy, domain.ClientInfo{}, nil)
	mustIs(t, err, domain.ErrInvalidRefreshToken)
	mustNotIs(t, err, domain.ErrRefreshTokenReused)

	// Idempotent: nothing left to end, and the times stay.
	n, err = st.RevokeUserSessions(ctx, owner.ID(), t2.Add(time.Hour))
	mustNil(t, err)
	if n != 0 {
		t.Fatalf("second RevokeUserSessions = %d, want 0", n)
	}
	assertRevokedAt(t, st, a, t2)

	// Another user's session is untouched.
	got, _, err := st.RotateRefreshToken(ctx, otherTok.Hash(), newToken(t, t2).Record(""), t2, noPolicy, domain.ClientInfo{}, nil)
	mustNil(t, err)
	assertSession(t, got, other)

	// The user can log in again afterwards.
	fresh, _ := startSessionOf(t, st, owner)
	stored, _, err := st.SessionByID(ctx, fresh.ID())
	mustNil(t, err)
	if !stored.Active() {
		t.Fatal("a session started after RevokeUserSessions is not active")
	}
}

func testRevokeUserSessionsUnknownUser(t *testing.T, st Store) {
	ctx := t.Context()
	sess, _ := startSession(t, st)
	noSessions := createUser(t, st, "idle@example.com")
	for _, id := range []domain.UserID{newUserID(), "not-a-uuid", noSessions.ID()} {
		n, err := st.RevokeUserSessions(ctx, id, t0)
		if err != nil || n != 0 {
			t.Fatalf("RevokeUserSessions(%q) = %d, %v; want 0, nil", id, n, err)
		}
	}
	stored, _, err := st.SessionByID(ctx, sess.ID())
	mustNil(t, err)
	assertSession(t, stored, sess)
}

// Concurrent calls (two operators, a retried command) end every session
// and count each exactly once between them.
func testConcurrentRevokeUserSessions(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	const sessions = 5
	started := make([]domain.Session, sessions)
	for i := range started {
		started[i], _ = startSessionOf(t, st, u)
	}
	t1 := t0.Add(time.Minute)
	counts := make([]int, concurrent)
	errs := together(concurrent, func(i int) error {
		var err error
		counts[i], err = st.RevokeUserSessions(ctx, u.ID(), t1)
		return err
	})
	total := 0
	for i, err := range errs {
		mustNil(t, err)
		total += counts[i]
	}
	if total != sessions {
		t.Fatalf("concurrent RevokeUserSessions counted %d in all (%v), want %d", total, counts, sessions)
	}
	for _, s := range started {
		assertRevokedAt(t, st, s, t1)
	}
}

// ---- helpers ----

func newUserID() domain.UserID       { return domain.UserID(uuid.Must(uuid.NewV7()).String()) }
func newSessionID() domain.SessionID { return domain.SessionID(uuid.Must(uuid.NewV7()).String()) }

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
	u, err := domain.NewUser(newUserID(), mustEmail(t, email), "Ada Lovelace", hash, t0)
	if err != nil {
		t.Fatalf("NewUser: %v", err)
	}
	return u
}

func createUser(t *testing.T, st Store, email string) domain.User {
	t.Helper()
	u := newUser(t, email)
	if err := st.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser: %v", err)
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

// startSession creates a user and a session at t0 with its first token.
func startSession(t *testing.T, st Store) (domain.Session, domain.RefreshToken) {
	t.Helper()
	u := createUser(t, st, uuid.NewString()+"@example.com")
	sess := domain.NewSession(newSessionID(), u.ID(), t0, domain.ClientInfo{})
	tok := newToken(t, t0)
	if err := st.CreateSession(t.Context(), sess, tok.Record(sess.ID()), ""); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return sess, tok
}

// startSessionOf starts another session of u at t0 with its first token.
func startSessionOf(t *testing.T, st Store, u domain.User) (domain.Session, domain.RefreshToken) {
	t.Helper()
	sess := domain.NewSession(newSessionID(), u.ID(), t0, domain.ClientInfo{})
	tok := newToken(t, t0)
	if err := st.CreateSession(t.Context(), sess, tok.Record(sess.ID()), ""); err != nil {
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
	if got.ID() != want.ID() || got.Email() != want.Email() || got.Name() != want.Name() ||
		got.Role() != want.Role() || got.PasswordHash() != want.PasswordHash() || !got.CreatedAt().Equal(want.CreatedAt()) {
		t.Fatalf("user mismatch:\n got  id=%s email=%s name=%q role=%s hash=%q created=%s\n want id=%s email=%s name=%q role=%s hash=%q created=%s",
			got.ID(), got.Email(), got.Name(), got.Role(), got.PasswordHash(), got.CreatedAt().Format(time.RFC3339Nano),
			want.ID(), want.Email(), want.Name(), want.Role(), want.PasswordHash(), want.CreatedAt().Format(time.RFC3339Nano))
	}
}

func assertSession(t *testing.T, got, want domain.Session) {
	t.Helper()
	if got.ID() != want.ID() || got.UserID() != want.UserID() ||
		!got.CreatedAt().Equal(want.CreatedAt()) || !got.RevokedAt().Equal(want.RevokedAt()) {
		t.Fatalf("session mismatch:\n got  id=%s user=%s created=%s revoked=%s\n want id=%s user=%s created=%s revoked=%s",
			got.ID(), got.UserID(), got.CreatedAt().Format(time.RFC3339Nano), got.RevokedAt().Format(time.RFC3339Nano),
			want.ID(), want.UserID(), want.CreatedAt().Format(time.RFC3339Nano), want.RevokedAt().Format(time.RFC3339Nano))
	}
}

// assertRevokedAt checks the stored session is sess revoked at exactly at.
func assertRevokedAt(t *testing.T, st Store, sess domain.Session, at time.Time) {
	t.Helper()
	got, _, err := st.SessionByID(context.WithoutCancel(t.Context()), sess.ID())
	if err != nil {
		t.Fatalf("SessionByID: %v", err)
	}
	assertSession(t, got, domain.RehydrateSession(sess.ID(), sess.UserID(), sess.CreatedAt(), got.LastUsedAt(), at, got.Client()))
	if got.Active() {
		t.Fatal("revoked session reports Active")
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
