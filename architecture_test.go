// Package authd_test holds repository-wide checks. TestArchitecture makes
// the dependency rule of docs/ARCHITECTURE.md executable: dependencies
// point inward and each third-party library stays inside the one adapter
// that owns it.
package authd_test

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/authd/authd"

type pkg struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
}

// owners says which package subtrees may import a third-party module.
var owners = map[string][]string{
	"github.com/jackc/pgx":              {"adapters/postgres"},
	"github.com/golang-migrate/migrate": {"adapters/postgres", "adapters/sqlite"},
	// The SQLite store: the pure-Go driver, and golang-migrate's driver
	// over it (the longest matching prefix decides, so postgres may not
	// use the sqlite one).
	"modernc.org/sqlite": {"adapters/sqlite"},
	"github.com/golang-migrate/migrate/v4/database/sqlite": {"adapters/sqlite"},
	"github.com/testcontainers/testcontainers-go":          {"adapters/postgres/pgtest"},
	"github.com/moby/moby":                                 {"adapters/postgres/pgtest"},
	"github.com/golang-jwt/jwt":                            {"adapters/jwt"},
	"golang.org/x/crypto":                                  {"adapters/argon2"},
	// TOTP codes, otpauth:// URIs and their QR codes (pquerna/otp draws
	// them with boombuler/barcode).
	"github.com/pquerna/otp":       {"adapters/totp"},
	"github.com/boombuler/barcode": {"adapters/totp"},
	// Passkeys: the WebAuthn ceremonies, attestation and assertion
	// verification, COSE keys (the protocol sub-packages included).
	"github.com/go-webauthn/webauthn": {"adapters/webauthn"},
	// cmd/authload serves the HTTP floor: a trivial chi handler measured
	// with the same load tool as authd.
	"github.com/go-chi/chi":                {"adapters/httpapi", "cmd/authload"},
	"github.com/kelseyhightower/envconfig": {"cmd/authd"},
	"github.com/prometheus/client_golang":  {"adapters/metrics"},
	"github.com/getkin/kin-openapi":        {"adapters/httpapi"}, // its tests validate against docs/openapi.yaml
	// The example resource server shows a third-party verifier, on purpose.
	"github.com/lestrrat-go/jwx":  {"examples/resource-server"},
	"github.com/google/uuid":      {"adapters"}, // a value type: fine in any adapter, never in the core
	"github.com/wneessen/go-mail": {"adapters/mail"},
}

// testOnly lists libraries only tests may use, and whose tests: a
// package's own code may never import them.
var testOnly = map[string][]string{
	// The in-process SMTP server the mail adapter's tests talk to.
	"github.com/emersion/go-smtp": {"adapters/mail"},
	"github.com/emersion/go-sasl": {"adapters/mail"},
}

// testSupport are the packages that exist for tests: other adapters' tests
// (and other test support) may import them.
var testSupport = []string{"adapters/repotest", "adapters/postgres/pgtest", "adapters/mail/mailpittest"}

// inner says which project packages each layer may import.
var inner = map[string][]string{
	"domain":      {},
	"ports":       {"domain"},
	"application": {"domain", "ports", "application"},
	"db":          {},
}

func within(rel, tree string) bool { return rel == tree || strings.HasPrefix(rel, tree+"/") }

func TestArchitecture(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var checked int
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		checked++
		for _, imp := range p.Imports {
			if msg := violation(rel, imp); msg != "" {
				t.Errorf("%s imports %s: %s", p.ImportPath, imp, msg)
			}
		}
		for _, imp := range append(p.TestImports, p.XTestImports...) {
			if msg := testViolation(rel, imp); msg != "" {
				t.Errorf("%s's tests import %s: %s", p.ImportPath, imp, msg)
			}
		}
	}
	if checked < 8 {
		t.Fatalf("only %d packages listed; the check would prove nothing", checked)
	}
}

func violation(rel, imp string) string {
	first := strings.SplitN(imp, "/", 2)[0]
	std := !strings.Contains(first, ".")
	layer := strings.SplitN(rel, "/", 2)[0]

	if std {
		if imp == "net/http" && (layer == "domain" || layer == "ports" || layer == "application") {
			return "net/http never enters the core"
		}
		return ""
	}
	if target, ok := strings.CutPrefix(imp, module+"/"); ok {
		if allowed, isCore := inner[layer]; isCore {
			for _, a := range allowed {
				if within(target, a) {
					return ""
				}
			}
			return "the core may import only " + strings.Join(allowed, ", ")
		}
		if layer == "adapters" {
			own := strings.Join(strings.SplitN(rel, "/", 3)[:2], "/")
			switch {
			case within(target, own), within(target, "domain"), within(target, "ports"), target == "db", target == "db/sqlite":
				return ""
			case within(target, "application") && own == "adapters/httpapi":
				return "" // a driving adapter calls the use cases
			case within(target, "application") && own == "adapters/repotest":
				return "" // the store contract drives the real use cases over each store
			case slices.Contains(testSupport, target):
				return "" // test support may be imported by other test support
			}
			return "an adapter may not depend on another adapter or on application"
		}
		return "" // cmd/authd wires everything
	}
	if layer == "domain" && (strings.HasPrefix(imp, "golang.org/x/text/") || imp == "golang.org/x/net/idna") {
		return "" // Unicode normalisation, case folding and IDNA: the Go project's tables, pure functions
	}
	if layer == "domain" || layer == "ports" || layer == "application" {
		return "the core imports the standard library and its own inner layers only"
	}
	if prefix := longestPrefix(testOnly, imp); prefix != "" {
		return "only the tests of " + strings.Join(testOnly[prefix], ", ") + " may use " + prefix
	}
	// The longest prefix that matches decides: a module's sub-package may
	// have an owner of its own.
	best := longestPrefix(owners, imp)
	if best == "" {
		return ""
	}
	for _, owner := range owners[best] {
		if within(rel, owner) {
			return ""
		}
	}
	return "only " + strings.Join(owners[best], ", ") + " may use " + best
}

// testViolation checks a test's import of a test-only library; the other
// rules apply to a package's own imports (tests may reach across adapters,
// e.g. to build a real store).
func testViolation(rel, imp string) string {
	prefix := longestPrefix(testOnly, imp)
	if prefix == "" {
		return ""
	}
	for _, owner := range testOnly[prefix] {
		if within(rel, owner) {
			return ""
		}
	}
	return "only the tests of " + strings.Join(testOnly[prefix], ", ") + " may use " + prefix
}

// longestPrefix returns the longest key of m that imp starts with.
func longestPrefix(m map[string][]string, imp string) string {
	best := ""
	for prefix := range m {
		if strings.HasPrefix(imp, prefix) && len(prefix) > len(best) {
			best = prefix
		}
	}
	return best
}

// TestViolationRules proves the checker itself rejects what it should.
func TestViolationRules(t *testing.T) {
	bad := [][2]string{
		{"domain", "github.com/authd/authd/ports"},
		{"domain", "github.com/google/uuid"},
		{"domain", "golang.org/x/net/http2"},
		{"application", "golang.org/x/text/unicode/norm"},
		{"application", "net/http"},
		{"application", "github.com/authd/authd/adapters/memory"},
		{"ports", "github.com/jackc/pgx/v5"},
		{"adapters/httpapi", "github.com/jackc/pgx/v5/pgxpool"},
		{"adapters/memory", "github.com/authd/authd/adapters/postgres"},
		{"adapters/jwt", "github.com/authd/authd/application"},
		{"adapters/postgres", "github.com/authd/authd/application/sessions"},
		{"application/signin", "github.com/authd/authd/adapters/jwt"},
		{"application/sessions", "net/http"},
		{"cmd/authd", "github.com/golang-jwt/jwt/v5"},
		{"cmd/authd", "github.com/go-chi/chi/v5"},
		{"adapters/postgres", "github.com/moby/moby/client"},
		{"adapters/postgres", "modernc.org/sqlite"},
		{"adapters/postgres", "github.com/golang-migrate/migrate/v4/database/sqlite"},
		{"adapters/memory", "github.com/golang-migrate/migrate/v4"},
		{"adapters/sqlite", "github.com/jackc/pgx/v5"},
		{"adapters/sqlite", "github.com/authd/authd/adapters/postgres"},
		{"ports", "github.com/pquerna/otp"},
		{"application/signin", "github.com/pquerna/otp/totp"},
		{"adapters/httpapi", "github.com/boombuler/barcode/qr"},
		{"adapters/secretbox", "github.com/pquerna/otp"},
		{"adapters/totp", "github.com/authd/authd/adapters/secretbox"},
		{"ports", "github.com/go-webauthn/webauthn/webauthn"},
		{"application/signin", "github.com/go-webauthn/webauthn/protocol"},
		{"adapters/httpapi", "github.com/go-webauthn/webauthn/protocol"},
		{"cmd/authd", "github.com/go-webauthn/webauthn/webauthn"},
		{"adapters/webauthn", "github.com/authd/authd/adapters/totp"},
		{"adapters/httpapi", "github.com/wneessen/go-mail"},
		{"cmd/authd", "github.com/wneessen/go-mail"},
		{"adapters/mail", "github.com/emersion/go-smtp"}, // its own code: tests only
		{"adapters/mail/mailpittest", "github.com/emersion/go-smtp"},
		{"adapters/mail", "github.com/authd/authd/adapters/memory"},
	}
	for _, b := range bad {
		if violation(b[0], b[1]) == "" {
			t.Errorf("%s -> %s should be forbidden", b[0], b[1])
		}
	}
	good := [][2]string{
		{"domain", "crypto/sha256"},
		{"domain", "golang.org/x/text/unicode/norm"},
		{"domain", "golang.org/x/net/idna"},
		{"application", "github.com/authd/authd/ports"},
		{"adapters/httpapi", "github.com/authd/authd/application"},
		{"adapters/httpapi", "github.com/authd/authd/application/signin"},
		{"application/signin", "github.com/authd/authd/application"},
		{"adapters/postgres", "github.com/jackc/pgx/v5"},
		{"adapters/postgres/pgtest", "github.com/testcontainers/testcontainers-go"},
		{"cmd/authd", "github.com/authd/authd/adapters/postgres"},
		{"cmd/authload", "github.com/go-chi/chi/v5"},
		{"adapters/postgres/pgtest", "github.com/moby/moby/client"},
		{"adapters/sqlite", "modernc.org/sqlite"},
		{"adapters/sqlite", "github.com/golang-migrate/migrate/v4"},
		{"adapters/sqlite", "github.com/golang-migrate/migrate/v4/database/sqlite"},
		{"adapters/sqlite", "github.com/authd/authd/db/sqlite"},
		{"adapters/postgres", "github.com/golang-migrate/migrate/v4/database/pgx/v5"},
		{"cmd/authd", "github.com/authd/authd/adapters/sqlite"},
		{"adapters/totp", "github.com/pquerna/otp/totp"},
		{"adapters/totp", "github.com/boombuler/barcode"},
		{"adapters/secretbox", "github.com/authd/authd/ports"},
		{"cmd/authd", "github.com/authd/authd/adapters/totp"},
		{"adapters/webauthn", "github.com/go-webauthn/webauthn/webauthn"},
		{"adapters/webauthn", "github.com/go-webauthn/webauthn/protocol/webauthncose"},
		{"cmd/authd", "github.com/authd/authd/adapters/webauthn"},
		{"adapters/mail", "github.com/wneessen/go-mail"},
		{"adapters/mail/mailpittest", "github.com/authd/authd/adapters/mail"},
		{"adapters/httpapi", "github.com/authd/authd/adapters/mail/mailpittest"},
		{"cmd/authd", "github.com/authd/authd/adapters/mail"},
	}
	for _, g := range good {
		if msg := violation(g[0], g[1]); msg != "" {
			t.Errorf("%s -> %s should be allowed: %s", g[0], g[1], msg)
		}
	}
	// Test-only libraries, in tests.
	if msg := testViolation("adapters/mail", "github.com/emersion/go-smtp"); msg != "" {
		t.Errorf("adapters/mail's tests -> go-smtp should be allowed: %s", msg)
	}
	for _, rel := range []string{"adapters/httpapi", "cmd/authd"} {
		if testViolation(rel, "github.com/emersion/go-smtp") == "" {
			t.Errorf("%s's tests -> go-smtp should be forbidden", rel)
		}
	}
}
