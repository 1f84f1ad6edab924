package totp

import (
	"bytes"
	"encoding/base32"
	"image/png"
	"net/url"
	"strings"
	"testing"
	"time"
)

// rfcSecret is RFC 6238 Appendix B's SHA-1 seed, "12345678901234567890".
var rfcSecret = base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("12345678901234567890"))

// rfcVectors are RFC 6238 Appendix B's SHA-1 rows. The RFC prints eight
// digits; six-digit codes are the same value mod 10^6, so its last six.
var rfcVectors = []struct {
	unix  int64
	step  int64
	eight string
}{
	{59, 0x1, "94287082"},
	{1111111109, 0x23523EC, "07081804"},
	{1111111111, 0x23523ED, "14050471"},
	{1234567890, 0x273EF07, "89005924"},
	{2000000000, 0x3F940AA, "69279037"},
	{20000000000, 0x27BC86AA, "65353130"},
}

func TestRFC6238Vectors(t *testing.T) {
	a := New(nil)
	for _, v := range rfcVectors {
		want := v.eight[2:]
		code, err := Code(rfcSecret, v.step)
		if err != nil || code != want {
			t.Errorf("Code(step %#x) = %q, %v; want %q", v.step, code, err, want)
		}
		step, ok := a.Match(rfcSecret, want, time.Unix(v.unix, 0))
		if !ok || step != v.step {
			t.Errorf("Match(%q, T=%d) = %d, %v; want step %d", want, v.unix, step, ok, v.step)
		}
	}
	// The example the brief spells out.
	if step, ok := a.Match(rfcSecret, "287082", time.Unix(59, 0)); !ok || step != 1 {
		t.Errorf("T=59: got step %d ok %v, want 1 true", step, ok)
	}
}

func TestSkew(t *testing.T) {
	a := New(nil)
	now := time.Unix(1234567890, 0) // step 0x273EF07, 0 s into it
	current := now.Unix() / Period
	for _, tc := range []struct {
		offset int64
		ok     bool
	}{{-2, false}, {-1, true}, {0, true}, {1, true}, {2, false}} {
		code, err := Code(rfcSecret, current+tc.offset)
		if err != nil {
			t.Fatal(err)
		}
		step, ok := a.Match(rfcSecret, code, now)
		if ok != tc.ok || (ok && step != current+tc.offset) {
			t.Errorf("code of step %+d: got step %d ok %v, want ok %v", tc.offset, step-current, ok, tc.ok)
		}
	}
	// Anywhere inside the step, the window is the same three steps.
	code, _ := Code(rfcSecret, current+1)
	if step, ok := a.Match(rfcSecret, code, now.Add(29*time.Second)); !ok || step != current+1 {
		t.Errorf("last second of the step: got %d %v", step, ok)
	}
	if _, ok := a.Match(rfcSecret, code, now.Add(-time.Second)); ok {
		t.Errorf("a code two steps ahead matched")
	}
}

func TestMatchNearEpoch(t *testing.T) {
	a := New(nil)
	code0, _ := Code(rfcSecret, 0)
	if step, ok := a.Match(rfcSecret, code0, time.Unix(0, 0)); !ok || step != 0 {
		t.Errorf("step 0 at T=0: got %d %v", step, ok)
	}
	// Before the epoch only step 0 (the next one of step -1) exists.
	if step, ok := a.Match(rfcSecret, code0, time.Unix(-1, 0)); !ok || step != 0 {
		t.Errorf("step 0 at T=-1: got %d %v", step, ok)
	}
	if _, ok := a.Match(rfcSecret, code0, time.Unix(-31, 0)); ok {
		t.Errorf("step 0 matched two steps away, before the epoch")
	}
}

func TestMalformedRefused(t *testing.T) {
	a := New(nil)
	now := time.Unix(59, 0)
	for _, code := range []string{
		"", "28708", "2870820", "28708a", " 287082", "287082 ", "287082\n", "+87082",
		"２８７０８２",   // full-width digits
		"94287082", // the eight-digit form
	} {
		if _, ok := a.Match(rfcSecret, code, now); ok {
			t.Errorf("code %q matched", code)
		}
	}
	for _, secret := range []string{
		"", "   ", "GEZDGNBV", // too short to be a real secret
		rfcSecret[:25],      // one character short of 128 bits
		"1" + rfcSecret[1:], // '1' is not base32
		rfcSecret[:16] + " " + rfcSecret[16:],
	} {
		if _, ok := a.Match(secret, "287082", now); ok {
			t.Errorf("secret %q matched", secret)
		}
	}
	// Lower case and padding are the same secret (apps and other systems
	// write both).
	if _, ok := a.Match(strings.ToLower(rfcSecret), "287082", now); !ok {
		t.Errorf("lower-case secret refused")
	}
}

func TestNewSecret(t *testing.T) {
	a := New(nil)
	secret, uri, err := a.NewSecret("Example Co", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil || len(raw) != SecretSize || strings.Contains(secret, "=") {
		t.Fatalf("secret %q: %d bytes, %v; want 20 bytes of unpadded base32", secret, len(raw), err)
	}
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/Example Co:alice@example.com" {
		t.Errorf("uri %s: scheme %q host %q label %q", uri, u.Scheme, u.Host, u.Path)
	}
	q := u.Query()
	for k, want := range map[string]string{
		"secret": secret, "issuer": "Example Co", "algorithm": "SHA1", "digits": "6", "period": "30",
	} {
		if got := q.Get(k); got != want {
			t.Errorf("uri %s: %s=%q, want %q", uri, k, got, want)
		}
	}
	if strings.Contains(uri, "+") {
		t.Errorf("uri %s encodes a space as '+', which some apps show literally", uri)
	}

	// The secret works with Match.
	now := time.Now()
	code, _ := Code(secret, now.Unix()/Period)
	if _, ok := a.Match(secret, code, now); !ok {
		t.Errorf("a fresh secret's current code does not match")
	}
	// And secrets are fresh.
	if again, _, _ := a.NewSecret("Example Co", "alice@example.com"); again == secret {
		t.Errorf("two secrets are equal: %s", secret)
	}
}

func TestNewSecretRandomSource(t *testing.T) {
	zeros := bytes.NewReader(make([]byte, SecretSize))
	secret, _, err := New(zeros).NewSecret("i", "a")
	if err != nil || secret != strings.Repeat("A", 32) {
		t.Errorf("secret from zeros = %q, %v", secret, err)
	}
	if _, _, err := New(bytes.NewReader(make([]byte, SecretSize-1))).NewSecret("i", "a"); err == nil {
		t.Errorf("a short random source did not fail")
	}
}

func TestNewSecretRefusesBadLabels(t *testing.T) {
	a := New(nil)
	for _, tc := range [][2]string{{"", "alice"}, {"Example", ""}, {"Ex:ample", "alice"}, {"Example", "al:ice"}} {
		if _, _, err := a.NewSecret(tc[0], tc[1]); err == nil {
			t.Errorf("NewSecret(%q, %q) succeeded", tc[0], tc[1])
		}
	}
}

func TestQRCodePNG(t *testing.T) {
	_, uri, err := New(nil).NewSecret("Example", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	b, err := QRCodePNG(uri, 256)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if r := img.Bounds(); r.Dx() != 256 || r.Dy() != 256 {
		t.Errorf("image is %v, want 256x256", r)
	}
	for _, tc := range []struct {
		uri  string
		size int
	}{
		{uri, 0}, {uri, -1}, {uri, MaxQRSize + 1},
		{uri, 10}, // smaller than the code's modules
		{"https://example.com", 256},
	} {
		if _, err := QRCodePNG(tc.uri, tc.size); err == nil {
			t.Errorf("QRCodePNG(%q, %d) succeeded", tc.uri, tc.size)
		}
	}
}

func TestCodeNegativeStep(t *testing.T) {
	if _, err := Code(rfcSecret, -1); err == nil {
		t.Errorf("negative step accepted")
	}
}

func FuzzMatch(f *testing.F) {
	f.Add(rfcSecret, "287082", int64(59))
	f.Add("", "", int64(0))
	f.Add("========", "000000", int64(-1))
	f.Add(rfcSecret+"=", "123456", int64(1<<62))
	f.Add(strings.Repeat("A", 26), "000000", int64(-1<<63))
	a := New(nil)
	f.Fuzz(func(t *testing.T, secret, code string, unix int64) {
		step, ok := a.Match(secret, code, time.Unix(unix, 0))
		if !ok {
			return
		}
		if !sixDigits(code) {
			t.Fatalf("matched malformed code %q", code)
		}
		if cur := floorDiv(unix, Period); step < 0 || step < cur-1 || step > cur+1 {
			t.Fatalf("step %d outside the window of %d", step, cur)
		}
		if want, err := Code(secret, step); err != nil || want != code {
			t.Fatalf("step %d's code is %q (%v), not %q", step, want, err, code)
		}
	})
}
