package secretbox

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
)

func newKeyBytes(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, KeySize)
	rand.Read(k)
	return k
}

func mustNew(t testing.TB, current []byte, previous ...[]byte) *Box {
	t.Helper()
	b, err := New(current, previous...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealOpenRoundTrip(t *testing.T) {
	b := mustNew(t, newKeyBytes(t))
	for _, plaintext := range [][]byte{nil, {}, []byte("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"), bytes.Repeat([]byte{0xff}, 4096)} {
		ctx := []byte("user-0190a5b2")
		sealed, err := b.Seal(plaintext, ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(sealed) != 1+4+12+len(plaintext)+16 {
			t.Errorf("sealed %d bytes of plaintext into %d bytes", len(plaintext), len(sealed))
		}
		got, err := b.Open(sealed, ctx)
		if err != nil || !bytes.Equal(got, plaintext) {
			t.Errorf("Open = %q, %v; want %q", got, err, plaintext)
		}
	}
}

func TestFormat(t *testing.T) {
	key := newKeyBytes(t)
	b := mustNew(t, key)
	sum := sha256.Sum256(key)
	s1, _ := b.Seal([]byte("secret"), nil)
	s2, _ := b.Seal([]byte("secret"), nil)
	for _, s := range [][]byte{s1, s2} {
		if s[0] != 1 || !bytes.Equal(s[1:5], sum[:4]) {
			t.Errorf("header % x, want version 1 and key id % x", s[:5], sum[:4])
		}
	}
	if bytes.Equal(s1[5:17], s2[5:17]) {
		t.Errorf("two seals share the nonce % x", s1[5:17])
	}
	if bytes.Equal(s1, s2) {
		t.Errorf("sealing twice gave the same bytes")
	}
	if want := fmt.Sprintf("%x", sum[:4]); b.KeyID() != want {
		t.Errorf("KeyID %s, want %s", b.KeyID(), want)
	}
}

func TestOpenRefuses(t *testing.T) {
	b := mustNew(t, newKeyBytes(t))
	ctx := []byte("user-1")
	sealed, _ := b.Seal([]byte("the secret"), ctx)
	with := func(i int, f func(byte) byte) []byte {
		c := bytes.Clone(sealed)
		c[i] = f(c[i])
		return c
	}
	flip := func(x byte) byte { return x ^ 1 }
	cases := map[string]struct {
		sealed, ctx []byte
	}{
		"other context":       {sealed, []byte("user-2")},
		"no context":          {sealed, nil},
		"context prefix":      {sealed, ctx[:5]},
		"unknown version":     {with(0, func(byte) byte { return 2 }), ctx},
		"version 0":           {with(0, func(byte) byte { return 0 }), ctx},
		"other key id":        {with(1, flip), ctx},
		"tampered nonce":      {with(5, flip), ctx},
		"tampered ciphertext": {with(17, flip), ctx},
		"tampered tag":        {with(len(sealed)-1, flip), ctx},
		"truncated":           {sealed[:len(sealed)-1], ctx},
		"header only":         {sealed[:5], ctx},
		"shortest minus one":  {sealed[:1+4+12+16-1], ctx},
		"empty":               {nil, ctx},
		"extended":            {append(bytes.Clone(sealed), 0), ctx},
		"other key":           {func() []byte { s, _ := mustNew(t, newKeyBytes(t)).Seal([]byte("the secret"), ctx); return s }(), ctx},
	}
	for name, tc := range cases {
		got, err := b.Open(tc.sealed, tc.ctx)
		if !errors.Is(err, ErrOpen) || got != nil {
			t.Errorf("%s: Open = %q, %v; want nil, ErrOpen", name, got, err)
		}
		if err != nil && err.Error() != ErrOpen.Error() {
			t.Errorf("%s: error %q says more than ErrOpen", name, err)
		}
	}
}

func TestRotation(t *testing.T) {
	oldKey, newKey := newKeyBytes(t), newKeyBytes(t)
	before := mustNew(t, oldKey)
	sealedOld, _ := before.Seal([]byte("old"), []byte("u"))

	after := mustNew(t, newKey, oldKey)
	if got, err := after.Open(sealedOld, []byte("u")); err != nil || string(got) != "old" {
		t.Errorf("the previous key's value: %q, %v", got, err)
	}
	sealedNew, _ := after.Seal([]byte("new"), []byte("u"))
	if sum := sha256.Sum256(newKey); !bytes.Equal(sealedNew[1:5], sum[:4]) {
		t.Errorf("sealed with key id % x, want the current key's", sealedNew[1:5])
	}
	if _, err := before.Open(sealedNew, []byte("u")); !errors.Is(err, ErrOpen) {
		t.Errorf("a Box without the new key opened its value: %v", err)
	}
	// Once the old key is dropped, its values no longer open.
	if _, err := mustNew(t, newKey).Open(sealedOld, []byte("u")); !errors.Is(err, ErrOpen) {
		t.Errorf("a retired key's value opened: %v", err)
	}
}

func TestNewRefuses(t *testing.T) {
	k := newKeyBytes(t)
	for name, keys := range map[string][][]byte{
		"nil":            {nil},
		"16 bytes":       {make([]byte, 16)},
		"33 bytes":       {make([]byte, 33)},
		"bad previous":   {k, make([]byte, 31)},
		"current again":  {k, k},
		"previous twice": {k, newKeyBytes(t), make([]byte, 32), make([]byte, 32)},
	} {
		if _, err := New(keys[0], keys[1:]...); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

func TestNewCopiesKey(t *testing.T) {
	k := newKeyBytes(t)
	b := mustNew(t, k)
	sealed, _ := b.Seal([]byte("x"), nil)
	clear(k)
	if _, err := b.Open(sealed, nil); err != nil {
		t.Errorf("the Box depends on the caller's slice: %v", err)
	}
}

func TestRedacted(t *testing.T) {
	k := bytes.Repeat([]byte{0xab}, KeySize)
	b := mustNew(t, k)
	for _, s := range []string{fmt.Sprint(b), fmt.Sprintf("%+v", b), fmt.Sprintf("%#v", b), fmt.Sprintf("%v", *b)} {
		if bytes.Contains([]byte(s), []byte("abab")) || bytes.Contains([]byte(s), []byte("171 171")) {
			t.Errorf("formatted Box shows key bytes: %s", s)
		}
	}
}

func TestConcurrent(t *testing.T) {
	b := mustNew(t, newKeyBytes(t), newKeyBytes(t))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			ctx := fmt.Appendf(nil, "user-%d", i)
			for j := range 50 {
				p := fmt.Appendf(nil, "secret-%d-%d", i, j)
				s, err := b.Seal(p, ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if got, err := b.Open(s, ctx); err != nil || !bytes.Equal(got, p) {
					t.Errorf("Open = %q, %v", got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func FuzzOpen(f *testing.F) {
	b := mustNew(f, bytes.Repeat([]byte{1}, KeySize))
	s, _ := b.Seal([]byte("seed"), []byte("ctx"))
	f.Add(s, []byte("ctx"))
	f.Add([]byte{}, []byte{})
	f.Add(s[:5], []byte("ctx"))
	f.Fuzz(func(t *testing.T, sealed, ctx []byte) {
		got, err := b.Open(sealed, ctx)
		if err != nil {
			if !errors.Is(err, ErrOpen) || got != nil {
				t.Fatalf("Open = %q, %v", got, err)
			}
			return
		}
		// Whatever opens must be exactly what Seal would frame.
		if len(sealed) != 1+4+12+len(got)+16 {
			t.Fatalf("opened %d bytes from %d", len(got), len(sealed))
		}
	})
}
