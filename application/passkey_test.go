package application_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/authd/authd/application"
	"github.com/authd/authd/application/account"
	"github.com/authd/authd/application/sessions"
	"github.com/authd/authd/application/signin"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// fakeRP is a ports.WebAuthn whose "browser answers" are JSON the test
// writes: {"challenge": state's challenge, "credential": id, "user":
// handle, "uv": bool, "counter": n}. It checks the challenge like the real
// one, so a ceremony's state is what binds an answer to it.
type fakeRP struct {
	n    int
	last string // the challenge of the ceremony begun last
}

type fakeState struct {
	Challenge string `json:"challenge"`
	User      string `json:"user"`
}

type fakeAnswer struct {
	Challenge  string `json:"challenge"`
	Credential string `json:"credential"`
	User       string `json:"user"`
	UV         bool   `json:"uv"`
	Counter    uint32 `json:"counter"`
}

func (f *fakeRP) begin(user string) ([]byte, []byte, error) {
	f.n++
	f.last = fmt.Sprint("c", f.n)
	st, _ := json.Marshal(fakeState{Challenge: f.last, User: user})
	return []byte(`{"publicKey":{}}`), st, nil
}

func (f *fakeRP) BeginRegistration(u domain.User, _ []domain.Passkey) ([]byte, []byte, error) {
	return f.begin(string(u.ID()))
}

func (f *fakeRP) FinishRegistration(u domain.User, existing []domain.Passkey, state, response []byte) (domain.Passkey, error) {
	var st fakeState
	var a fakeAnswer
	if json.Unmarshal(state, &st) != nil || json.Unmarshal(response, &a) != nil || a.Challenge != st.Challenge || st.User != string(u.ID()) {
		return domain.Passkey{}, domain.ErrPasskeyRejected
	}
	for _, p := range existing {
		if string(p.CredentialID) == a.Credential {
			return domain.Passkey{}, domain.ErrPasskeyRejected
		}
	}
	return domain.Passkey{CredentialID: []byte(a.Credential), Data: []byte("{}"), SignCount: a.Counter}, nil
}

func (f *fakeRP) BeginLogin(u *domain.User, _ []domain.Passkey) ([]byte, []byte, error) {
	if u == nil {
		return f.begin("")
	}
	return f.begin(string(u.ID()))
}

func (f *fakeRP) FinishLogin(state, response []byte, lookup func([]byte) (domain.User, []domain.Passkey, error)) (ports.PasskeyAssertion, error) {
	var st fakeState
	var a fakeAnswer
	if json.Unmarshal(state, &st) != nil || json.Unmarshal(response, &a) != nil || a.Challenge != st.Challenge {
		return ports.PasskeyAssertion{}, domain.ErrPasskeyRejected
	}
	u, list, err := lookup([]byte(a.User))
	if err != nil {
		return ports.PasskeyAssertion{}, fmt.Errorf("%w: %v", domain.ErrPasskeyRejected, err)
	}
	for _, p := range list {
		if bytes.Equal(p.CredentialID, []byte(a.Credential)) {
			clone := a.Counter != 0 && a.Counter <= p.SignCount
			p.SignCount = a.Counter
			return ports.PasskeyAssertion{User: u, Passkey: p, UserVerified: a.UV, CloneWarning: clone}, nil
		}
	}
	return ports.PasskeyAssertion{}, domain.ErrPasskeyRejected
}

type passkeyFixture struct {
	*mfaFixture
	rp     *fakeRP
	keys   *account.Passkeys
	signIn *signin.PasskeySignIn
}

func newPasskeyFixture(t *testing.T) *passkeyFixture {
	t.Helper()
	f := newMFAFixture(t)
	policies, _ := application.Config{RefreshTTL: 720 * time.Hour}.Policies()
	st := f.store
	audit := application.NewRecorder(st, &seqIDs{}, f.clock, nil)
	sess, err := sessions.New(sessions.Deps{Tx: st, Sessions: st, Issuer: f.tokens, Clock: f.clock, IDs: &seqIDs{}, Random: rand.Reader, Audit: audit}, policies)
	if err != nil {
		t.Fatal(err)
	}
	rp := &fakeRP{}
	p := &passkeyFixture{mfaFixture: f, rp: rp,
		keys:   account.NewPasskeys(account.PasskeyDeps{Tx: st, Passkeys: st, Sessions: sess, RP: rp, IDs: &uuidIDs{}, Random: rand.Reader, Clock: f.clock, Audit: audit}),
		signIn: signin.NewPasskeySignIn(signin.PasskeySignInDeps{Factors: st, Passkeys: st, Users: st, Sessions: sess, RP: rp, Random: rand.Reader, Clock: f.clock, Audit: audit}),
	}
	f.second.WithMethods(p.signIn.Methods)
	return p
}

// uuidIDs mints UUIDs (passkey ids must parse as UUIDs).
type uuidIDs struct{ seqIDs }

func (u *uuidIDs) NewPasskeyID() domain.PasskeyID {
	return domain.PasskeyID(fmt.Sprintf("01900000-0000-7000-8000-%012d", u.n.Add(1)))
}

func (p *passkeyFixture) principal(t *testing.T, email string) application.Principal {
	t.Helper()
	pair, err := p.login.Login(t.Context(), signin.LoginInput{Email: email, Password: mfaPassword})
	if err != nil {
		t.Fatal(err)
	}
	pr, err := p.bearer.Authenticate(t.Context(), pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	return pr
}

func answer(t *testing.T, _ []byte, state string, a fakeAnswer) []byte {
	t.Helper()
	a.Challenge = state
	b, _ := json.Marshal(a)
	return b
}

// register adds a passkey with credential id cred; the fake's n-th
// challenge is "c<n>".
func (p *passkeyFixture) addPasskey(t *testing.T, pr application.Principal, cred string, counter uint32) domain.Passkey {
	t.Helper()
	c, err := p.keys.BeginRegistration(t.Context(), pr)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := p.keys.FinishRegistration(t.Context(), account.FinishRegistrationInput{
		Principal: pr, Ceremony: c.Token, Credential: answer(t, c.Options, p.lastChallenge(), fakeAnswer{Credential: cred, Counter: counter}),
	})
	if err != nil {
		t.Fatal(err)
	}
	return pk
}

// lastChallenge is the challenge of the ceremony begun last.
func (p *passkeyFixture) lastChallenge() string { return p.rp.last }

func TestPasskeyRegistrationAndUsernamelessSignIn(t *testing.T) {
	p := newPasskeyFixture(t)
	ctx := t.Context()
	if _, err := p.register.Register(ctx, account.RegisterInput{Email: "ada@example.com", Password: mfaPassword}); err != nil {
		t.Fatal(err)
	}
	pr := p.principal(t, "ada@example.com")
	pk := p.addPasskey(t, pr, "cred-1", 1)
	if pk.Name != "Passkey 1" || pk.UserID != pr.UserID {
		t.Fatalf("passkey %+v", pk)
	}
	list, _ := p.keys.List(ctx, pr)
	if len(list) != 1 {
		t.Fatalf("%d passkeys", len(list))
	}

	c, err := p.signIn.Begin(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	ch := p.lastChallenge()
	// Without user verification, a usernameless sign-in is refused.
	if _, err := p.signIn.Finish(ctx, signin.FinishInput{Ceremony: c.Token, Credential: answer(t, nil, ch, fakeAnswer{Credential: "cred-1", User: string(pr.UserID), Counter: 2})}); !errors.Is(err, domain.ErrPasskeyRejected) {
		t.Fatalf("no UV: %v", err)
	}
	// The ceremony was spent by the refusal.
	if _, err := p.signIn.Finish(ctx, signin.FinishInput{Ceremony: c.Token, Credential: answer(t, nil, ch, fakeAnswer{Credential: "cred-1", User: string(pr.UserID), UV: true, Counter: 2})}); !errors.Is(err, domain.ErrInvalidCeremony) {
		t.Fatalf("a spent ceremony: %v", err)
	}
	c, _ = p.signIn.Begin(ctx, "")
	pair, err := p.signIn.Finish(ctx, signin.FinishInput{Ceremony: c.Token, Credential: answer(t, nil, p.lastChallenge(), fakeAnswer{Credential: "cred-1", User: string(pr.UserID), UV: true, Counter: 2})})
	if err != nil {
		t.Fatal(err)
	}
	claims, _ := p.tokens.VerifyAccessToken(ctx, pair.AccessToken)
	if domain.FormatMethods(claims.Methods) != "hwk,mfa" {
		t.Fatalf("amr %v", claims.Methods)
	}
	// The same counter again: a clone; refused and audited.
	c, _ = p.signIn.Begin(ctx, "")
	if _, err := p.signIn.Finish(ctx, signin.FinishInput{Ceremony: c.Token, Credential: answer(t, nil, p.lastChallenge(), fakeAnswer{Credential: "cred-1", User: string(pr.UserID), UV: true, Counter: 2})}); !errors.Is(err, domain.ErrPasskeyRejected) {
		t.Fatalf("a counter that did not move: %v", err)
	}
	events, _ := p.store.Events(ctx, ports.EventFilter{Limit: 100})
	found := false
	for _, e := range events {
		found = found || e.Type == domain.EventPasskeyCloneWarning
	}
	if !found {
		t.Fatal("no passkey_clone_warning event")
	}
	// Expired ceremony.
	c, _ = p.signIn.Begin(ctx, "")
	p.clock.now = p.clock.now.Add(domain.CeremonyTTL)
	if _, err := p.signIn.Finish(ctx, signin.FinishInput{Ceremony: c.Token, Credential: answer(t, nil, p.lastChallenge(), fakeAnswer{Credential: "cred-1", User: string(pr.UserID), UV: true, Counter: 9})}); !errors.Is(err, domain.ErrInvalidCeremony) {
		t.Fatalf("an expired ceremony: %v", err)
	}
	// Delete: sign-in refused afterwards.
	if err := p.keys.Delete(ctx, pr, pk.ID.String(), domain.ClientInfo{}); err != nil {
		t.Fatal(err)
	}
	c, _ = p.signIn.Begin(ctx, "")
	if _, err := p.signIn.Finish(ctx, signin.FinishInput{Ceremony: c.Token, Credential: answer(t, nil, p.lastChallenge(), fakeAnswer{Credential: "cred-1", User: string(pr.UserID), UV: true, Counter: 10})}); !errors.Is(err, domain.ErrPasskeyRejected) {
		t.Fatalf("a deleted passkey: %v", err)
	}
}

func TestPasskeyRegistrationRules(t *testing.T) {
	p := newPasskeyFixture(t)
	ctx := t.Context()
	for _, e := range []string{"ada@example.com", "bob@example.com"} {
		if _, err := p.register.Register(ctx, account.RegisterInput{Email: e, Password: mfaPassword}); err != nil {
			t.Fatal(err)
		}
	}
	ada, bob := p.principal(t, "ada@example.com"), p.principal(t, "bob@example.com")
	c, err := p.keys.BeginRegistration(ctx, ada)
	if err != nil {
		t.Fatal(err)
	}
	ch := p.lastChallenge()
	// Bob cannot finish Ada's ceremony.
	if _, err := p.keys.FinishRegistration(ctx, account.FinishRegistrationInput{Principal: bob, Ceremony: c.Token, Credential: answer(t, nil, ch, fakeAnswer{Credential: "x"})}); !errors.Is(err, domain.ErrInvalidCeremony) {
		t.Fatalf("another user's ceremony: %v", err)
	}
	// An old sign-in cannot add a passkey.
	p.clock.now = p.clock.now.Add(domain.ReauthWindow + time.Second)
	if _, err := p.keys.BeginRegistration(ctx, ada); !errors.Is(err, domain.ErrReauthRequired) {
		t.Fatalf("a sign-in older than the window: %v", err)
	}
	pr := p.principal(t, "ada@example.com")
	pk := p.addPasskey(t, pr, "cred-a", 0)
	if _, err := p.keys.Rename(ctx, bob, pk.ID.String(), "mine"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("rename another's passkey: %v", err)
	}
	if err := p.keys.Delete(ctx, bob, pk.ID.String(), domain.ClientInfo{}); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("delete another's passkey: %v", err)
	}
	got, err := p.keys.Rename(ctx, pr, pk.ID.String(), " Laptop ")
	if err != nil || got.Name != "Laptop" {
		t.Fatalf("rename = %+v, %v", got, err)
	}
}

// A passkey answers a password login's challenge: amr pwd+hwk, and the
// challenge is spent.
func TestPasskeyAsSecondFactor(t *testing.T) {
	p := newPasskeyFixture(t)
	ctx := t.Context()
	secret, _ := p.enrolled(t, "ada@example.com")
	pair, err := p.verify(t, p.challenge(t, "ada@example.com").Token, p.code(t, secret, 0), "")
	if err != nil {
		t.Fatal(err)
	}
	pr, err := p.bearer.Authenticate(ctx, pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	p.addPasskey(t, pr, "cred-1", 0)
	ch := p.challenge(t, "ada@example.com")
	if ch.Methods[len(ch.Methods)-1] != "passkey" {
		t.Fatalf("methods %v", ch.Methods)
	}
	c, err := p.signIn.Begin(ctx, ch.Token)
	if err != nil {
		t.Fatal(err)
	}
	pair, err = p.signIn.Finish(ctx, signin.FinishInput{Ceremony: c.Token, Credential: answer(t, nil, p.lastChallenge(), fakeAnswer{Credential: "cred-1"})})
	if err != nil {
		t.Fatal(err)
	}
	claims, _ := p.tokens.VerifyAccessToken(ctx, pair.AccessToken)
	if domain.FormatMethods(claims.Methods) != "pwd,hwk" {
		t.Fatalf("amr %v", claims.Methods)
	}
	if _, err := p.verify(t, ch.Token, "", "x"); !errors.Is(err, domain.ErrInvalidMFAToken) {
		t.Fatalf("the challenge after the passkey answered it: %v", err)
	}
	if _, err := p.signIn.Begin(ctx, ch.Token); !errors.Is(err, domain.ErrInvalidMFAToken) {
		t.Fatalf("begin on a spent challenge: %v", err)
	}
}
