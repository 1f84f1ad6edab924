package jwt

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/authd/authd/domain"
)

// FuzzVerifyAccessToken feeds arbitrary strings to VerifyAccessToken. It
// must never panic; anything but a token this test signed is refused with
// domain.ErrInvalidToken; the refusal is one of the fixed phrases, so it
// never quotes the input; and a second look gives the same verdict (the
// verified-token cache must not change an answer).
//
// Seeds: the tokens the test signs here (f.Add) and the committed corpus
// in testdata/fuzz/FuzzVerifyAccessToken, which is the JOSE header attack
// table (headerAttacks) written out by
//
//	go test ./adapters/jwt -run TestFuzzCorpusCurrent -update-fuzz-corpus
//
// Run with: go test -run XXX -fuzz '^FuzzVerifyAccessToken$' ./adapters/jwt
func FuzzVerifyAccessToken(f *testing.F) {
	k := attackKeys(f)
	v := attackVerifier(f, k)

	// signed holds every token the test signed that must verify; anything
	// else that verifies is a forgery.
	signed := map[string]bool{}
	for _, row := range headerAttacks(f, k, corpusAttackerURL) {
		if row.accept {
			signed[row.token] = true
		}
	}
	// A token from the Signer itself. Seeds are made again in every fuzz
	// worker process, so they must be deterministic: EdDSA signatures are,
	// and the jti comes from a fixed reader (the Signer's ES256 signatures
	// are randomised; the table's ES256 tokens use RFC 6979 instead).
	cfg := testConfig(t0)
	cfg.Random = bytes.NewReader(bytes.Repeat([]byte{7}, jtiBytes))
	issued := mustIssue(f, mustSigner(f, cfg, k.ed))
	signed[issued] = true
	f.Add(issued)
	parts := strings.Split(issued, ".")
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add(parts[0] + "." + parts[1])
	for _, s := range []string{
		"", ".", "..", "a.b.c", "eyJ.eyJ.", "Bearer x",
		"eyJhbGciOiJub25lIn0.e30.",                         // {"alg":"none"}.{}
		"eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.e30.e30", // HS256
		strings.Repeat("A", MaxTokenBytes+1),
	} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, token string) {
		got, err := v.VerifyAccessToken(context.Background(), token)
		again, err2 := v.VerifyAccessToken(context.Background(), token)
		if (err == nil) != (err2 == nil) || !reflect.DeepEqual(got, again) {
			t.Fatalf("verdict changed on a second look: (%+v, %v) then (%+v, %v)", got, err, again, err2)
		}
		if err == nil {
			if !signed[token] {
				// Known today: CR/LF in the signature segment and ES256
				// (r, n-s) verify too (TestTokenHasOneSpelling, -tags knownbug).
				t.Fatalf("accepted a token the test never signed: %q -> %+v", token, got)
			}
			if got.UserID != testUser || got.SessionID != testSession {
				t.Fatalf("claims = %+v", got)
			}
			return
		}
		if !errors.Is(err, domain.ErrInvalidToken) {
			t.Fatalf("err = %v, want ErrInvalidToken", err)
		}
		if !reflect.DeepEqual(got, domain.AccessClaims{}) {
			t.Fatalf("claims returned with error: %+v", got)
		}
		if msg := rejectionEchoes(err, token); msg != "" {
			t.Fatal(msg)
		}
	})
}

// rejectionPhrases is every phrase a refusal may consist of: the rejection
// constants and classify's phrases. A message made only of them carries no
// token bytes.
var rejectionPhrases = map[string]bool{
	string(rejectEmpty): true, string(rejectTooLarge): true, string(rejectCrit): true,
	string(rejectType): true, string(rejectNoKid): true, string(rejectUnknownKid): true,
	string(rejectAlg): true, string(rejectNoIat): true, string(rejectNoJti): true,
	string(rejectSub): true, string(rejectSid): true, string(rejectRole): true, string(rejectSpelling): true,
	"malformed": true, "signature invalid or alg not allowed": true, "expired": true,
	"not valid yet (nbf)": true, "issued in the future (iat)": true, "wrong iss": true,
	"wrong aud": true, "required claim missing": true, "claim has wrong type": true,
	"unverifiable (alg unknown or unusable)": true, "rejected": true,
}

// rejectionEchoes says what is wrong with err's message as a refusal of
// token, or "" when it is "invalid access token: " followed by fixed
// phrases only and quotes no token segment.
func rejectionEchoes(err error, token string) string {
	msg := err.Error()
	rest, ok := strings.CutPrefix(msg, domain.ErrInvalidToken.Error()+": ")
	if !ok {
		return fmt.Sprintf("refusal %q does not start with %q", msg, domain.ErrInvalidToken.Error())
	}
	for _, phrase := range strings.Split(rest, ", ") {
		if !rejectionPhrases[phrase] {
			return fmt.Sprintf("refusal %q has a phrase %q that is not a fixed one: it may quote the token", msg, phrase)
		}
	}
	for _, seg := range strings.Split(token, ".") {
		if len(seg) >= 8 && strings.Contains(msg, seg) {
			return fmt.Sprintf("refusal %q quotes the token", msg)
		}
	}
	return ""
}

var updateFuzzCorpus = flag.Bool("update-fuzz-corpus", false, "rewrite testdata/fuzz/FuzzVerifyAccessToken from the header attack table")

const verifyCorpusDir = "testdata/fuzz/FuzzVerifyAccessToken"

// corpusFile is Go's fuzz corpus encoding of one string argument.
func corpusFile(token string) []byte {
	return fmt.Appendf(nil, "go test fuzz v1\nstring(%q)\n", token)
}

var slugUnsafe = regexp.MustCompile(`[^a-z0-9]+`)

func corpusName(row string) string {
	return "header-" + strings.Trim(slugUnsafe.ReplaceAllString(strings.ToLower(row), "-"), "-")
}

// TestFuzzCorpusCurrent: the committed corpus is exactly the header attack
// table, so a change to the keys, the claims or the table cannot leave
// stale seeds behind. -update-fuzz-corpus rewrites it.
func TestFuzzCorpusCurrent(t *testing.T) {
	rows := headerAttacks(t, attackKeys(t), corpusAttackerURL)
	want := map[string][]byte{}
	for _, row := range rows {
		name := corpusName(row.name)
		if _, dup := want[name]; dup {
			t.Fatalf("two rows map to corpus file %s", name)
		}
		want[name] = corpusFile(row.token)
	}
	if *updateFuzzCorpus {
		if err := os.MkdirAll(verifyCorpusDir, 0o755); err != nil {
			t.Fatal(err)
		}
		old, _ := filepath.Glob(filepath.Join(verifyCorpusDir, "header-*"))
		for _, p := range old {
			if _, keep := want[filepath.Base(p)]; !keep {
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
			}
		}
		for name, b := range want {
			if err := os.WriteFile(filepath.Join(verifyCorpusDir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	have, _ := filepath.Glob(filepath.Join(verifyCorpusDir, "header-*"))
	if len(have) != len(want) {
		t.Errorf("%s has %d header-* files, the table %d rows (run with -update-fuzz-corpus)", verifyCorpusDir, len(have), len(want))
	}
	for name, b := range want {
		got, err := os.ReadFile(filepath.Join(verifyCorpusDir, name))
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("%s/%s is missing or stale (run with -update-fuzz-corpus): %v", verifyCorpusDir, name, err)
		}
	}
}
