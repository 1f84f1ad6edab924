package webauthn_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"

	"github.com/authd/authd/adapters/webauthn"
	"github.com/authd/authd/domain"
)

const (
	rpID   = "example.com"
	origin = "https://app.example.com"
)

var b64 = base64.RawURLEncoding

// authenticator is a software passkey: one ES256 key, a counter, and the
// client's view (the origin it reports, the RP ID it hashes).
type authenticator struct {
	t       *testing.T
	key     *ecdsa.PrivateKey
	credID  []byte
	handle  []byte // the user handle it stored at registration
	counter uint32
	step    uint32 // how much the counter moves per assertion
	origin  string
	rpID    string
	uv      bool
}

func newAuthenticator(t *testing.T) *authenticator {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	return &authenticator{t: t, key: key, credID: id, step: 1, origin: origin, rpID: rpID, uv: true}
}

// options is the part of the browser's options the authenticator reads.
type options struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		User      struct {
			ID string `json:"id"`
		} `json:"user"`
	} `json:"publicKey"`
}

func (a *authenticator) read(opts []byte) options {
	a.t.Helper()
	var o options
	if err := json.Unmarshal(opts, &o); err != nil || o.PublicKey.Challenge == "" {
		a.t.Fatalf("options %s: %v", opts, err)
	}
	return o
}

func (a *authenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.origin, "crossOrigin": false})
	return b
}

// authData is rpIdHash || flags || signCount (|| attested credential data).
func (a *authenticator) authData(attested []byte) []byte {
	flags := byte(0x01) // UP
	if a.uv {
		flags |= 0x04
	}
	if attested != nil {
		flags |= 0x40 // AT
	}
	h := sha256.Sum256([]byte(a.rpID))
	out := append(h[:], flags)
	out = binary.BigEndian.AppendUint32(out, a.counter)
	return append(out, attested...)
}

// create answers a registration's options: a "none" attestation.
func (a *authenticator) create(opts []byte) []byte {
	a.t.Helper()
	o := a.read(opts)
	handle, err := b64.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		a.t.Fatal(err)
	}
	a.handle = handle
	cose, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         1, // P-256
		XCoord:        a.key.X.FillBytes(make([]byte, 32)),
		YCoord:        a.key.Y.FillBytes(make([]byte, 32)),
	})
	if err != nil {
		a.t.Fatal(err)
	}
	attested := make([]byte, 16) // AAGUID: zero
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(a.credID)))
	attested = append(append(attested, a.credID...), cose...)
	object, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": a.authData(attested)})
	if err != nil {
		a.t.Fatal(err)
	}
	return a.credential(map[string]any{
		"clientDataJSON":    b64.EncodeToString(a.clientData("webauthn.create", o.PublicKey.Challenge)),
		"attestationObject": b64.EncodeToString(object),
		"transports":        []string{"internal"},
	})
}

// get answers a login's options, signing authData || SHA-256(clientDataJSON).
func (a *authenticator) get(opts []byte) []byte {
	a.t.Helper()
	o := a.read(opts)
	a.counter += a.step
	data := a.authData(nil)
	client := a.clientData("webauthn.get", o.PublicKey.Challenge)
	digest := sha256.Sum256(client)
	signed := sha256.Sum256(append(append([]byte{}, data...), digest[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, signed[:])
	if err != nil {
		a.t.Fatal(err)
	}
	return a.credential(map[string]any{
		"clientDataJSON":    b64.EncodeToString(client),
		"authenticatorData": b64.EncodeToString(data),
		"signature":         b64.EncodeToString(sig),
		"userHandle":        b64.EncodeToString(a.handle),
	})
}

func (a *authenticator) credential(response map[string]any) []byte {
	id := b64.EncodeToString(a.credID)
	b, _ := json.Marshal(map[string]any{"id": id, "rawId": id, "type": "public-key", "response": response,
		"clientExtensionResults": map[string]any{}, "authenticatorAttachment": "platform"})
	return b
}

// fixture: a relying party and a user.

func newRP(t *testing.T) *webauthn.RP {
	t.Helper()
	rp, err := webauthn.New(webauthn.Config{RPID: rpID, RPDisplayName: "authd", Origins: []string{origin}})
	if err != nil {
		t.Fatal(err)
	}
	return rp
}

var ada = domain.RehydrateUser("0b6f0c57-8f4e-4f43-9a43-3c1b3f0d2a11", domain.RehydrateEmail("ada@example.com", "ada@example.com"),
	true, "Ada", domain.RoleUser, time.Now())

// register registers a's passkey for ada.
func register(t *testing.T, rp *webauthn.RP, a *authenticator) domain.Passkey {
	t.Helper()
	opts, state, err := rp.BeginRegistration(ada, nil)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := rp.FinishRegistration(ada, nil, state, a.create(opts))
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	pk.ID, pk.UserID = "7d1c2f9e-5a4b-4c3d-8e2f-1a0b9c8d7e6f", ada.ID()
	return pk
}

// lookupFor answers FinishLogin's lookup with ada and her passkeys,
// recording the handle it was given.
func lookupFor(passkeys []domain.Passkey, handle *[]byte) func([]byte) (domain.User, []domain.Passkey, error) {
	return func(h []byte) (domain.User, []domain.Passkey, error) {
		if handle != nil {
			*handle = h
		}
		return ada, passkeys, nil
	}
}

func rejected(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, domain.ErrPasskeyRejected) {
		t.Fatalf("%s: want ErrPasskeyRejected, got %v", what, err)
	}
	t.Logf("%s: %v", what, err)
}

func TestRegisterThenSignIn(t *testing.T) {
	rp, a := newRP(t), newAuthenticator(t)

	opts, state, err := rp.BeginRegistration(ada, nil)
	if err != nil {
		t.Fatal(err)
	}
	var creation struct {
		PublicKey struct {
			RP struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"rp"`
			User struct {
				ID          string `json:"id"`
				Name        string `json:"name"`
				DisplayName string `json:"displayName"`
			} `json:"user"`
			Selection struct {
				ResidentKey      string `json:"residentKey"`
				RequireResident  bool   `json:"requireResidentKey"`
				UserVerification string `json:"userVerification"`
			} `json:"authenticatorSelection"`
			Attestation string `json:"attestation"`
			Timeout     int    `json:"timeout"`
			Exclude     []any  `json:"excludeCredentials"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(opts, &creation); err != nil {
		t.Fatal(err)
	}
	pub := creation.PublicKey
	if pub.RP.ID != rpID || pub.RP.Name != "authd" || pub.User.ID != b64.EncodeToString([]byte(ada.ID())) ||
		pub.User.Name != "ada@example.com" || pub.User.DisplayName != "Ada" || pub.Selection.ResidentKey != "required" ||
		!pub.Selection.RequireResident || pub.Selection.UserVerification != "required" || pub.Attestation != "none" ||
		pub.Timeout != 300000 || len(pub.Exclude) != 0 {
		t.Fatalf("creation options: %s", opts)
	}
	pk, err := rp.FinishRegistration(ada, nil, state, a.create(opts))
	if err != nil {
		t.Fatal(err)
	}
	if string(pk.CredentialID) != string(a.credID) || pk.SignCount != 0 || !json.Valid(pk.Data) {
		t.Fatalf("passkey: %+v", pk)
	}
	pk.ID, pk.UserID = "7d1c2f9e-5a4b-4c3d-8e2f-1a0b9c8d7e6f", ada.ID()

	// Usernameless: no allowCredentials, user verification required, the
	// account found by the user handle.
	opts, state, err = rp.BeginLogin(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(opts), `"userVerification":"required"`) || strings.Contains(string(opts), "allowCredentials") {
		t.Fatalf("usernameless options: %s", opts)
	}
	var handle []byte
	got, err := rp.FinishLogin(state, a.get(opts), lookupFor([]domain.Passkey{pk}, &handle))
	if err != nil {
		t.Fatal(err)
	}
	if string(handle) != string(ada.ID()) || got.User.ID() != ada.ID() || got.Passkey.ID != pk.ID || !got.UserVerified ||
		got.CloneWarning || got.Passkey.SignCount != 1 {
		t.Fatalf("assertion: %+v (handle %q)", got, handle)
	}
	var record struct {
		Authenticator struct {
			SignCount uint32 `json:"signCount"`
		} `json:"authenticator"`
	}
	if err := json.Unmarshal(got.Passkey.Data, &record); err != nil || record.Authenticator.SignCount != 1 {
		t.Fatalf("updated record %s: %v", got.Passkey.Data, err)
	}
	pk = got.Passkey

	// Second factor: allowCredentials are the user's passkeys, user
	// verification preferred; an answer without UV verifies and says so.
	opts, state, err = rp.BeginLogin(&ada, []domain.Passkey{pk})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(opts), `"userVerification":"preferred"`) || !strings.Contains(string(opts), b64.EncodeToString(a.credID)) {
		t.Fatalf("second-factor options: %s", opts)
	}
	a.uv = false
	handle = []byte("unset")
	got, err = rp.FinishLogin(state, a.get(opts), lookupFor([]domain.Passkey{pk}, &handle))
	if err != nil {
		t.Fatal(err)
	}
	if handle != nil || got.UserVerified || got.CloneWarning || got.Passkey.SignCount != 2 {
		t.Fatalf("second factor: %+v (handle %q)", got, handle)
	}
}

func TestRegistrationRefused(t *testing.T) {
	rp := newRP(t)
	for name, spoil := range map[string]func(*authenticator){
		"wrong origin": func(a *authenticator) { a.origin = "https://evil.example" },
		"wrong RP ID":  func(a *authenticator) { a.rpID = "evil.example" },
		"no UV":        func(a *authenticator) { a.uv = false },
	} {
		t.Run(name, func(t *testing.T) {
			a := newAuthenticator(t)
			spoil(a)
			opts, state, err := rp.BeginRegistration(ada, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = rp.FinishRegistration(ada, nil, state, a.create(opts))
			rejected(t, name, err)
		})
	}
	t.Run("another user's ceremony", func(t *testing.T) {
		a := newAuthenticator(t)
		opts, state, _ := rp.BeginRegistration(ada, nil)
		bob := domain.RehydrateUser("5f0e4c1a-2b3c-4d5e-8f70-112233445566", domain.RehydrateEmail("bob@example.com", "bob@example.com"), true, "", domain.RoleUser, time.Now())
		_, err := rp.FinishRegistration(bob, nil, state, a.create(opts))
		rejected(t, "another user", err)
	})
	t.Run("garbage", func(t *testing.T) {
		_, state, _ := rp.BeginRegistration(ada, nil)
		_, err := rp.FinishRegistration(ada, nil, state, []byte(`{"id":"x"}`))
		rejected(t, "garbage", err)
	})
}

func TestExcludedCredential(t *testing.T) {
	rp, a := newRP(t), newAuthenticator(t)
	pk := register(t, rp, a)
	opts, state, err := rp.BeginRegistration(ada, []domain.Passkey{pk})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(opts), `"excludeCredentials":[{"type":"public-key","id":"`+b64.EncodeToString(a.credID)+`"`) {
		t.Fatalf("exclusions missing: %s", opts)
	}
	// A browser would refuse; one that does not gets ErrPasskeyExists.
	if _, err := rp.FinishRegistration(ada, []domain.Passkey{pk}, state, a.create(opts)); !errors.Is(err, domain.ErrPasskeyExists) {
		t.Fatalf("want ErrPasskeyExists, got %v", err)
	}
}

func TestSignInRefused(t *testing.T) {
	rp := newRP(t)
	usernameless := func(rp *webauthn.RP) ([]byte, []byte) { o, s, _ := rp.BeginLogin(nil, nil); return o, s }
	for name, c := range map[string]struct {
		spoil func(*authenticator)
		mfa   bool
	}{
		"wrong origin":           {spoil: func(a *authenticator) { a.origin = "https://app.example.com.evil.example" }},
		"wrong RP ID":            {spoil: func(a *authenticator) { a.rpID = "evil.example" }},
		"no UV (usernameless)":   {spoil: func(a *authenticator) { a.uv = false }},
		"another key":            {spoil: func(a *authenticator) { a.key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }},
		"wrong origin (mfa)":     {spoil: func(a *authenticator) { a.origin = "http://app.example.com" }, mfa: true},
		"unknown credential mfa": {spoil: func(a *authenticator) { a.credID = []byte("another credential id") }, mfa: true},
		"another user's handle":  {spoil: func(a *authenticator) { a.handle = []byte("5f0e4c1a-2b3c-4d5e-8f70-112233445566") }},
	} {
		t.Run(name, func(t *testing.T) {
			a := newAuthenticator(t)
			pk := register(t, rp, a)
			opts, state := usernameless(rp)
			if c.mfa {
				opts, state, _ = rp.BeginLogin(&ada, []domain.Passkey{pk})
			}
			c.spoil(a)
			_, err := rp.FinishLogin(state, a.get(opts), lookupFor([]domain.Passkey{pk}, nil))
			rejected(t, name, err)
		})
	}

	t.Run("another ceremony's challenge", func(t *testing.T) {
		a := newAuthenticator(t)
		pk := register(t, rp, a)
		opts, _ := usernameless(rp)
		_, other := usernameless(rp)
		_, err := rp.FinishLogin(other, a.get(opts), lookupFor([]domain.Passkey{pk}, nil))
		rejected(t, "another challenge", err)
	})

	t.Run("expired ceremony", func(t *testing.T) {
		a := newAuthenticator(t)
		pk := register(t, rp, a)
		opts, state := usernameless(rp)
		var s map[string]any
		if err := json.Unmarshal(state, &s); err != nil || s["expires"] == nil {
			t.Fatalf("state %s: %v", state, err)
		}
		s["expires"] = time.Now().Add(-time.Second)
		state, _ = json.Marshal(s)
		_, err := rp.FinishLogin(state, a.get(opts), lookupFor([]domain.Passkey{pk}, nil))
		rejected(t, "expired", err)
	})

	t.Run("a registration's state", func(t *testing.T) {
		a := newAuthenticator(t)
		pk := register(t, rp, a)
		opts, state, _ := rp.BeginRegistration(ada, nil)
		_, err := rp.FinishLogin(state, a.get(opts), lookupFor([]domain.Passkey{pk}, nil))
		rejected(t, "registration state", err)
	})

	t.Run("a login's state for a registration", func(t *testing.T) {
		a := newAuthenticator(t)
		opts, state := usernameless(rp)
		_, err := rp.FinishRegistration(ada, nil, state, a.create(opts))
		rejected(t, "login state", err)
	})

	t.Run("unknown account", func(t *testing.T) {
		a := newAuthenticator(t)
		register(t, rp, a)
		opts, state := usernameless(rp)
		_, err := rp.FinishLogin(state, a.get(opts), func([]byte) (domain.User, []domain.Passkey, error) {
			return domain.User{}, nil, domain.ErrNotFound
		})
		rejected(t, "unknown account", err)
		if !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("want ErrNotFound kept: %v", err)
		}
	})

	t.Run("a failing lookup is not a rejection", func(t *testing.T) {
		a := newAuthenticator(t)
		register(t, rp, a)
		opts, state := usernameless(rp)
		boom := errors.New("database is down")
		_, err := rp.FinishLogin(state, a.get(opts), func([]byte) (domain.User, []domain.Passkey, error) {
			return domain.User{}, nil, boom
		})
		if !errors.Is(err, boom) || errors.Is(err, domain.ErrPasskeyRejected) {
			t.Fatalf("want the lookup's error, got %v", err)
		}
	})
}

// TestCounter: the library does not refuse a counter that did not move
// forward; it raises CloneWarning and leaves the stored counter as it was.
// A counter that stays 0 (as many platform passkeys send) never warns.
func TestCounter(t *testing.T) {
	rp, a := newRP(t), newAuthenticator(t)
	pk := register(t, rp, a)
	opts, state, _ := rp.BeginLogin(nil, nil)
	answer := a.get(opts)
	first, err := rp.FinishLogin(state, answer, lookupFor([]domain.Passkey{pk}, nil))
	if err != nil || first.CloneWarning || first.Passkey.SignCount != 1 {
		t.Fatalf("first sign-in: %+v, %v", first, err)
	}

	// The same answer replayed against the same state, once the counter
	// is stored: verifies, with CloneWarning (the ceremony being single
	// use on the server is what stops a replay).
	replay, err := rp.FinishLogin(state, answer, lookupFor([]domain.Passkey{first.Passkey}, nil))
	if err != nil || !replay.CloneWarning || replay.Passkey.SignCount != 1 {
		t.Fatalf("replay: %+v, %v", replay, err)
	}

	// A counter that went backwards: CloneWarning, counter kept.
	a.counter = 0 // the next assertion says 1, the store has 5
	stored := first.Passkey
	stored.SignCount = 5
	opts, state, _ = rp.BeginLogin(nil, nil)
	back, err := rp.FinishLogin(state, a.get(opts), lookupFor([]domain.Passkey{stored}, nil))
	if err != nil || !back.CloneWarning || back.Passkey.SignCount != 5 {
		t.Fatalf("backwards: %+v, %v", back, err)
	}

	// A warning is about one assertion: the next good one does not carry it.
	a.counter = 9
	opts, state, _ = rp.BeginLogin(nil, nil)
	next, err := rp.FinishLogin(state, a.get(opts), lookupFor([]domain.Passkey{back.Passkey}, nil))
	if err != nil || next.CloneWarning || next.Passkey.SignCount != 10 {
		t.Fatalf("after a warning: %+v, %v", next, err)
	}

	// No counter at all (always 0): never a warning.
	z := newAuthenticator(t)
	z.step = 0
	pk = register(t, rp, z)
	for range 2 {
		opts, state, _ = rp.BeginLogin(nil, nil)
		got, err := rp.FinishLogin(state, z.get(opts), lookupFor([]domain.Passkey{pk}, nil))
		if err != nil || got.CloneWarning || got.Passkey.SignCount != 0 {
			t.Fatalf("zero counter: %+v, %v", got, err)
		}
		pk = got.Passkey
	}
}

func TestNew(t *testing.T) {
	good := []webauthn.Config{
		{RPID: "example.com", Origins: []string{"https://example.com", "https://app.example.com:8443/"}},
		{RPID: "localhost", Origins: []string{"http://localhost:5173"}, Timeout: time.Minute},
		{RPID: "Example.COM", RPDisplayName: "authd", Origins: []string{"https://EXAMPLE.com"}},
	}
	for _, c := range good {
		if _, err := webauthn.New(c); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	bad := []webauthn.Config{
		{RPID: "", Origins: []string{"https://example.com"}},
		{RPID: "https://example.com", Origins: []string{"https://example.com"}},
		{RPID: "example.com:443", Origins: []string{"https://example.com"}},
		{RPID: "example.com/x", Origins: []string{"https://example.com"}},
		{RPID: "127.0.0.1", Origins: []string{"https://127.0.0.1"}},
		{RPID: "example.com"},
		{RPID: "example.com", Origins: []string{"example.com"}},
		{RPID: "example.com", Origins: []string{"http://example.com"}},
		{RPID: "example.com", Origins: []string{"ftp://example.com"}},
		{RPID: "example.com", Origins: []string{"https://example.com/app"}},
		{RPID: "example.com", Origins: []string{"https://example.org"}},
		{RPID: "example.com", Origins: []string{"https://notexample.com"}},
		{RPID: "example.com", Origins: []string{"https://example.com"}, Timeout: -time.Second},
	}
	for _, c := range bad {
		if _, err := webauthn.New(c); err == nil {
			t.Errorf("%+v: accepted", c)
		}
	}
}
