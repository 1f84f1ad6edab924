package main_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authd/authd/adapters/postgres/pgtest"
)

// kidOf reads a JWT's kid without verifying anything.
func kidOf(t *testing.T, token string) string {
	t.Helper()
	head, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

func jwksKids(t *testing.T, base string) []string {
	t.Helper()
	res, err := http.Get(base + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	return kids
}

func keyFile(t *testing.T, dir, name, alg string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if out, err := exec.Command(binary(t), "keygen", "-alg", alg, "-out", path).CombinedOutput(); err != nil {
		t.Fatalf("keygen: %v %s", err, out)
	}
	return path
}

// TestSigningKeyRotation: a new key signs, the retired one keeps verifying
// what it signed, the JWKS publishes both, and once the retired key is
// dropped its tokens stop working.
func TestSigningKeyRotation(t *testing.T) {
	dir := t.TempDir()
	oldKey := keyFile(t, dir, "old.pem", "ES256")
	newKey := keyFile(t, dir, "new.pem", "EdDSA")
	db := "AUTH_DATABASE_URL=" + pgtest.NewDatabase(t)

	p := start(t, db, "AUTH_SIGNING_KEY_FILE="+oldKey)
	creds := `{"email":"rotate@example.com","password":"correct horse battery staple"}`
	code, _ := p.call(t, "POST", "/v1/auth/register", creds, "")
	want(t, code, 201)
	code, pair := p.call(t, "POST", "/v1/auth/login", creds, "")
	want(t, code, 200)
	oldAccess, refresh := pair["access_token"].(string), pair["refresh_token"].(string)
	oldKid := kidOf(t, oldAccess)
	p.stop(t)

	p = start(t, db, "AUTH_SIGNING_KEY_FILE="+newKey, "AUTH_PREVIOUS_KEY_FILES="+oldKey)
	kids := jwksKids(t, p.base)
	if len(kids) != 2 || kids[1] != oldKid || kids[0] == oldKid {
		t.Fatalf("JWKS kids %v: want the new key first, then the retired %s", kids, oldKid)
	}
	code, _ = p.call(t, "GET", "/v1/users/me", "", oldAccess)
	want(t, code, 200) // signed by the retired key: still valid
	code, pair = p.call(t, "POST", "/v1/auth/refresh", `{"refresh_token":"`+refresh+`"}`, "")
	want(t, code, 200)
	newAccess := pair["access_token"].(string)
	if kid := kidOf(t, newAccess); kid != kids[0] {
		t.Fatalf("new token kid %s, want the current key's %s", kid, kids[0])
	}
	code, _ = p.call(t, "GET", "/v1/users/me", "", newAccess)
	want(t, code, 200)
	code, disc := p.call(t, "GET", "/.well-known/oauth-authorization-server", "", "")
	want(t, code, 200)
	if algs, _ := disc["access_token_signing_alg_values_supported"].([]any); len(algs) != 2 || algs[0] != "EdDSA" || algs[1] != "ES256" {
		t.Fatalf("discovery algs %v", disc["access_token_signing_alg_values_supported"])
	}
	if !strings.Contains(p.log(), `"msg":"retired key still verifying","kid":"`+oldKid) {
		t.Fatalf("the retired key is not logged:\n%s", p.log())
	}
	p.stop(t)

	// The retired key's tokens have expired in real life: drop it.
	p = start(t, db, "AUTH_SIGNING_KEY_FILE="+newKey)
	if kids := jwksKids(t, p.base); len(kids) != 1 || kids[0] == oldKid {
		t.Fatalf("JWKS after retiring: %v", kids)
	}
	code, _ = p.call(t, "GET", "/v1/users/me", "", oldAccess)
	want(t, code, 401)
	code, _ = p.call(t, "GET", "/v1/users/me", "", newAccess)
	want(t, code, 200)
	p.stop(t)
}

func TestPreviousKeyFilesConfiguration(t *testing.T) {
	dir := t.TempDir()
	current := keyFile(t, dir, "current.pem", "ES256")
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, env := range [][]string{
		{"AUTH_PREVIOUS_KEY_FILES=" + current},                                                        // no current key
		{"AUTH_SIGNING_KEY_FILE=" + current, "AUTH_PREVIOUS_KEY_FILES=" + filepath.Join(dir, "nope")}, // missing file
		{"AUTH_SIGNING_KEY_FILE=" + current, "AUTH_PREVIOUS_KEY_FILES=" + junk},                       // not a key
		{"AUTH_SIGNING_KEY_FILE=" + current, "AUTH_PREVIOUS_KEY_FILES=" + current + ",,"},             // empty entry
	} {
		cmd := exec.Command(binary(t))
		cmd.Env = append(os.Environ(), append([]string{"AUTH_ADDR=127.0.0.1:0", "AUTH_DATABASE_URL=memory:"}, env...)...)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "AUTH_PREVIOUS_KEY_FILES") {
			t.Errorf("%v: want exit 1 naming AUTH_PREVIOUS_KEY_FILES, got %v: %s", env, err, out)
		}
	}
}
