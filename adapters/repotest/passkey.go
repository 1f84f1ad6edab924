package repotest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

var passkeyCases = []contractCase{
	{"Passkeys/AddListFindUse", testPasskeyRoundTrip},
	{"Passkeys/CredentialIDIsUnique", testPasskeyUnique},
	{"Passkeys/RenameAndDeleteOnlyYourOwn", testPasskeyOwnership},
	{"Passkeys/CeremonyUsedOnceUnderRace", testCeremonyRace},
	{"Passkeys/PruneExpiredCeremonies", testPruneCeremonies},
}

func newPasskey(t *testing.T, u domain.User, at time.Time) domain.Passkey {
	t.Helper()
	cred := make([]byte, 32)
	_, _ = rand.Read(cred)
	return domain.Passkey{
		ID: domain.PasskeyID(uuid.Must(uuid.NewV7()).String()), UserID: u.ID(), CredentialID: cred,
		Name: "YubiKey", Data: []byte(`{"adapter":"record"}`), SignCount: 3, CreatedAt: at,
	}
}

func assertPasskey(t *testing.T, got, want domain.Passkey) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || !bytes.Equal(got.CredentialID, want.CredentialID) || got.Name != want.Name ||
		!bytes.Equal(got.Data, want.Data) || got.SignCount != want.SignCount || !got.CreatedAt.Equal(want.CreatedAt) || !got.LastUsedAt.Equal(want.LastUsedAt) {
		t.Fatalf("passkey = %+v, want %+v", got, want)
	}
}

func testPasskeyRoundTrip(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	other := createUser(t, st, "bob@example.com")
	first, second := newPasskey(t, u, t0), newPasskey(t, u, t0.Add(time.Second))
	mine := newPasskey(t, other, t0)
	for _, p := range []domain.Passkey{second, first, mine} {
		mustNil(t, st.AddPasskey(ctx, p))
	}
	list, err := st.PasskeysOf(ctx, u.ID())
	mustNil(t, err)
	if len(list) != 2 {
		t.Fatalf("%d passkeys", len(list))
	}
	assertPasskey(t, list[0], first)
	assertPasskey(t, list[1], second)
	got, err := st.PasskeyByCredentialID(ctx, second.CredentialID)
	mustNil(t, err)
	assertPasskey(t, got, second)
	_, err = st.PasskeyByCredentialID(ctx, []byte("unknown"))
	mustIs(t, err, domain.ErrNotFound)

	mustNil(t, st.PasskeyUsed(ctx, second.ID, []byte(`{"adapter":"updated"}`), 9, t0.Add(time.Hour)))
	second.Data, second.SignCount, second.LastUsedAt = []byte(`{"adapter":"updated"}`), 9, t0.Add(time.Hour)
	got, err = st.PasskeyByCredentialID(ctx, second.CredentialID)
	mustNil(t, err)
	assertPasskey(t, got, second)
	mustIs(t, st.PasskeyUsed(ctx, domain.PasskeyID(uuid.NewString()), nil, 1, t0), domain.ErrNotFound)
	mustIs(t, st.AddPasskey(ctx, newPasskey(t, domain.RehydrateUser(newUserID(), u.Email(), false, "", domain.RoleUser, t0), t0)), domain.ErrNotFound)
}

func testPasskeyUnique(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	other := createUser(t, st, "bob@example.com")
	p := newPasskey(t, u, t0)
	mustNil(t, st.AddPasskey(ctx, p))
	dup := newPasskey(t, other, t0)
	dup.CredentialID = p.CredentialID
	mustIs(t, st.AddPasskey(ctx, dup), domain.ErrPasskeyExists)
	if list, _ := st.PasskeysOf(ctx, other.ID()); len(list) != 0 {
		t.Fatalf("a duplicate credential was stored: %v", list)
	}
}

func testPasskeyOwnership(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	other := createUser(t, st, "bob@example.com")
	p := newPasskey(t, u, t0)
	mustNil(t, st.AddPasskey(ctx, p))
	mustIs(t, st.RenamePasskey(ctx, other.ID(), p.ID, "mine now"), domain.ErrNotFound)
	mustIs(t, st.DeletePasskey(ctx, other.ID(), p.ID), domain.ErrNotFound)
	mustNil(t, st.RenamePasskey(ctx, u.ID(), p.ID, "Laptop"))
	got, err := st.PasskeyByCredentialID(ctx, p.CredentialID)
	mustNil(t, err)
	if got.Name != "Laptop" {
		t.Fatalf("name %q", got.Name)
	}
	mustNil(t, st.DeletePasskey(ctx, u.ID(), p.ID))
	mustIs(t, st.DeletePasskey(ctx, u.ID(), p.ID), domain.ErrNotFound)
	for range 3 {
		mustNil(t, st.AddPasskey(ctx, newPasskey(t, u, t0)))
	}
	mustNil(t, st.AddPasskey(ctx, newPasskey(t, other, t0)))
	n, err := st.DeletePasskeys(ctx, u.ID())
	mustNil(t, err)
	if n != 3 {
		t.Fatalf("deleted %d", n)
	}
	if list, _ := st.PasskeysOf(ctx, other.ID()); len(list) != 1 {
		t.Fatalf("another user's passkeys went too: %v", list)
	}
}

func newCeremony(t *testing.T, u domain.User, expires time.Time) domain.Ceremony {
	t.Helper()
	_, h, err := domain.NewCeremonyToken(rand.Reader)
	mustNil(t, err)
	_, mfa, err := domain.NewMFAToken(rand.Reader)
	mustNil(t, err)
	return domain.Ceremony{Hash: h, Kind: domain.CeremonySecondFactor, UserID: u.ID(), MFAToken: mfa, State: []byte(`{"challenge":"x"}`), ExpiresAt: expires}
}

func testCeremonyRace(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	usernameless := domain.Ceremony{Kind: domain.CeremonyLogin, State: []byte(`{}`), ExpiresAt: t0.Add(time.Minute)}
	_, usernameless.Hash, _ = domain.NewCeremonyToken(rand.Reader)
	mustNil(t, st.CreateCeremony(ctx, usernameless))
	got, err := st.UseCeremony(ctx, usernameless.Hash)
	mustNil(t, err)
	if got.UserID != "" || got.Kind != domain.CeremonyLogin || got.MFAToken != (domain.MFATokenHash{}) {
		t.Fatalf("usernameless ceremony = %+v", got)
	}
	for round := range rounds {
		c := newCeremony(t, u, t0.Add(time.Minute))
		mustNil(t, st.CreateCeremony(ctx, c))
		var won atomic.Int32
		var first domain.Ceremony
		errs := together(concurrent, func(int) error {
			return st.WithinTx(ctx, func(s ports.Stores) error {
				got, err := s.Passkeys.UseCeremony(ctx, c.Hash)
				if err != nil {
					return err
				}
				if won.Add(1) == 1 {
					first = got
				}
				return nil
			})
		})
		for _, err := range errs {
			if err != nil && !errors.Is(err, domain.ErrNotFound) {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if n := won.Load(); n != 1 {
			t.Fatalf("round %d: a ceremony finished %d times", round, n)
		}
		if first.UserID != u.ID() || first.MFAToken != c.MFAToken || first.Kind != c.Kind || !bytes.Equal(first.State, c.State) || !first.ExpiresAt.Equal(c.ExpiresAt) {
			t.Fatalf("ceremony = %+v, want %+v", first, c)
		}
	}
}

func testPruneCeremonies(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	var live []domain.Ceremony
	for i := range 5 {
		c := newCeremony(t, u, t0.Add(time.Duration(i-2)*time.Minute))
		mustNil(t, st.CreateCeremony(ctx, c))
		if i > 2 {
			live = append(live, c)
		}
	}
	if n := pruneWalk(t, 2, func(b ports.PruneBatch) (ports.PruneResult, error) { return st.PruneCeremonies(ctx, t0, b) }); n != 3 {
		t.Fatalf("pruned %d ceremonies, want 3", n)
	}
	for _, c := range live {
		_, err := st.UseCeremony(ctx, c.Hash)
		mustNil(t, err)
	}
}
