package application_test

import (
	"context"
	"errors"
	"testing"

	"github.com/authd/authd/application"
	"github.com/authd/authd/application/account"
	"github.com/authd/authd/application/admin"
	"github.com/authd/authd/application/sessions"
	"github.com/authd/authd/application/signin"
	"github.com/authd/authd/domain"
)

type loginResult struct {
	pair application.TokenPair
	err  error
}

// loginAsync starts a login in its own goroutine; its result arrives on the
// returned channel.
func (f *fixture) loginAsync(email, password string, c domain.ClientInfo) <-chan loginResult {
	done := make(chan loginResult, 1)
	go func() {
		pair, err := f.logins.Login(context.Background(), signin.LoginInput{Email: email, Password: password, Client: c})
		done <- loginResult{pair, err}
	}()
	return done
}

// assertNoLiveSession checks that a login that raced a password change left
// the attacker nothing: it failed with invalid credentials, or the session
// it got is dead for /me and for refresh.
func assertNoLiveSession(t *testing.T, f *fixture, r loginResult) {
	t.Helper()
	ctx := context.Background()
	if r.err != nil {
		if !errors.Is(r.err, domain.ErrInvalidCredentials) {
			t.Fatalf("raced login: err = %v, want invalid credentials", r.err)
		}
		return
	}
	p, err := f.bearer.Authenticate(ctx, r.pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.sessions.CurrentUser(ctx, p); !errors.Is(err, domain.ErrInvalidToken) {
		t.Fatalf("raced login's session is alive for /me: err = %v", err)
	}
	if _, err := f.sessions.Refresh(ctx, sessions.RefreshInput{RefreshToken: r.pair.RefreshToken}); !errors.Is(err, domain.ErrInvalidRefreshToken) {
		t.Fatalf("raced login's session refreshes: err = %v", err)
	}
}

// assertOnlySession checks that the changer's session is the account's only
// live one.
func assertOnlySession(t *testing.T, f *fixture, p application.Principal) {
	t.Helper()
	views, err := f.sessions.List(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(views) != 1 || views[0].ID != p.SessionID {
		t.Fatalf("live sessions = %+v, want only the changer's", views)
	}
}

// The reviewer's first race: an attacker's login reads the user and its
// hash and verifies the old password (slow), while the victim changes the
// password and revokes the other sessions; then the login creates its
// session. It must not outlive the change.
func TestLoginVerifyingOldPasswordRacingChangeKeepsNoSession(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	_, victim := f.loginFrom(t, "ada@example.com", "correct horse", laptop)

	block := f.hasher.blockNext("verify", "correct horse")
	done := f.loginAsync("ada@example.com", "correct horse", phone)
	<-block.entered // the attacker's login holds the old hash, verifying

	if err := f.changePassword(account.ChangePasswordInput{
		Principal: victim, CurrentPassword: "correct horse", NewPassword: "battery staple", Client: laptop,
	}); err != nil {
		t.Fatal(err)
	}
	close(block.release)
	r := <-done
	assertNoLiveSession(t, f, r)
	// Here the change committed first, so the store refuses the session.
	if !errors.Is(r.err, domain.ErrInvalidCredentials) {
		t.Fatalf("login verified before the change, stored after it: err = %v, want invalid credentials", r.err)
	}
	assertOnlySession(t, f, victim)
	if err := loginErr(f, "ada@example.com", "correct horse"); !errors.Is(err, domain.ErrInvalidCredentials) {
		t.Fatalf("old password: err = %v", err)
	}
	f.login(t, "ada@example.com", "battery staple")

	failed, _ := f.admin.ListEvents(ctx, admin.ListEventsInput{Type: "login_failed"})
	if len(failed.Events) == 0 || failed.Events[len(failed.Events)-1].Detail != "password changed during login" {
		t.Fatalf("login_failed events = %+v", failed.Events)
	}
}

// The reviewer's second race: a login on an outdated hash verifies the old
// password, then upgrades the hash, while the password changes. The
// upgrade must not write hash(old password) over the new hash, and the
// login must not keep a session. It is parked at either slow call.
func TestRehashingLoginRacingChangeDoesNotRevertIt(t *testing.T) {
	for _, op := range []string{"verify", "hash"} {
		t.Run("parked in "+op, func(t *testing.T) {
			f := newFixture(t)
			u := f.register(t, "ada@example.com", "correct horse")
			_, victim := f.loginFrom(t, "ada@example.com", "correct horse", laptop)
			f.setPasswordHash(t, u.ID(), "legacy$correct horse")

			block := f.hasher.blockNext(op, "correct horse")
			done := f.loginAsync("ada@example.com", "correct horse", phone)
			<-block.entered
			if err := f.changePassword(account.ChangePasswordInput{
				Principal: victim, CurrentPassword: "correct horse", NewPassword: "battery staple", Client: laptop,
			}); err != nil {
				t.Fatal(err)
			}
			close(block.release)
			assertNoLiveSession(t, f, <-done)

			if got := f.passwordHash(t, u.ID()); got != "fake$battery staple" {
				t.Fatalf("stored hash = %q: the rehash reverted the change", got)
			}
			assertOnlySession(t, f, victim)
			if err := loginErr(f, "ada@example.com", "correct horse"); !errors.Is(err, domain.ErrInvalidCredentials) {
				t.Fatalf("old password: err = %v", err)
			}
			f.login(t, "ada@example.com", "battery staple")
		})
	}
}

// Two logins with the right password on an outdated hash: the one that
// upgrades second finds the hash changed under it. That is no password
// change, and it must still log in (the second check against the stored
// hash passes).
func TestConcurrentRehashingLoginsBothSucceed(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	u := f.register(t, "ada@example.com", "correct horse")
	f.setPasswordHash(t, u.ID(), "legacy$correct horse")
	block := f.hasher.blockNext("hash", "correct horse")
	done := f.loginAsync("ada@example.com", "correct horse", phone)
	<-block.entered // verified the legacy hash, computing the upgrade
	_, first := f.loginFrom(t, "ada@example.com", "correct horse", laptop)
	close(block.release)
	r := <-done
	if r.err != nil {
		t.Fatalf("second login on the same password: %v", r.err)
	}
	second, err := f.bearer.Authenticate(ctx, r.pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []application.Principal{first, second} {
		if _, err := f.sessions.CurrentUser(ctx, p); err != nil {
			t.Fatalf("session %s: %v", p.SessionID, err)
		}
	}
	if got := f.passwordHash(t, u.ID()); got != "fake$correct horse" {
		t.Fatalf("stored hash = %q, want the upgrade", got)
	}
}

// A password change whose check of the current password raced another
// change loses: the current password it proved is no longer the account's.
func TestChangePasswordRacingChangeDoesNotOverwriteIt(t *testing.T) {
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	_, a := f.loginFrom(t, "ada@example.com", "correct horse", laptop)
	_, b := f.loginFrom(t, "ada@example.com", "correct horse", phone)

	block := f.hasher.blockNext("hash", "first new password")
	done := make(chan error, 1)
	go func() {
		done <- f.changePassword(account.ChangePasswordInput{Principal: a, CurrentPassword: "correct horse", NewPassword: "first new password"})
	}()
	<-block.entered // a verified the old password and is hashing its new one
	if err := f.changePassword(account.ChangePasswordInput{Principal: b, CurrentPassword: "correct horse", NewPassword: "second new password"}); err != nil {
		t.Fatal(err)
	}
	close(block.release)
	// a's session was revoked by b's change before a's swap; either way a
	// must not overwrite b's password.
	if err := <-done; err == nil {
		t.Fatal("a change verified under the old hash overwrote a newer change")
	}
	if err := loginErr(f, "ada@example.com", "first new password"); !errors.Is(err, domain.ErrInvalidCredentials) {
		t.Fatalf("the losing change's password: err = %v", err)
	}
	f.login(t, "ada@example.com", "second new password")
}
