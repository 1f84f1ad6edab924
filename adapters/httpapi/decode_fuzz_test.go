package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// decodeTarget is one request struct decodeJSON fills, as its handler
// calls it.
type decodeTarget struct {
	name string
	new  func() any
	// optional: the handler decodes only when the request has a body
	// (logout may authenticate by bearer alone).
	optional bool
}

var decodeTargets = []decodeTarget{
	{name: "register", new: func() any { return new(registerRequest) }},
	{name: "login", new: func() any { return new(loginRequest) }},
	{name: "refresh", new: func() any { return new(refreshRequest) }},
	{name: "logout", new: func() any { return new(refreshRequest) }, optional: true},
}

// FuzzDecodeJSON sends arbitrary bodies and Content-Types through
// decodeJSON into every request struct. Properties:
//
//   - it never panics;
//   - the error is nil or exactly one of errMalformed, errTooLarge and
//     errUnsupportedMedia, and a client-facing detail is one of the fixed
//     forms (it never quotes the body);
//   - a Content-Type other than application/json (charset utf-8 or none)
//     is always errUnsupportedMedia, and only then;
//   - errTooLarge only for bodies over maxBodyBytes, and a body over it is
//     never accepted; an accepted body padded past the limit is errTooLarge;
//   - it accepts exactly what encoding/json accepts as one JSON object for
//     the struct (json.Valid, an object, json.Unmarshal succeeds), with the
//     same result, and an accepted value re-encodes and decodes back equal.
//
// Seeds: the f.Add calls below and testdata/fuzz/FuzzDecodeJSON, written
// from decodeCorpus by
//
//	go test ./adapters/httpapi -run TestDecodeCorpusCurrent -update-fuzz-corpus
//
// Run with: go test -run XXX -fuzz '^FuzzDecodeJSON$' ./adapters/httpapi
func FuzzDecodeJSON(f *testing.F) {
	for _, body := range []string{
		`{"email":"ada@example.com","password":"correct horse battery","name":"Ada"}`,
		`{"email":"ada@example.com","password":"correct horse battery"}`,
		`{"refresh_token":"q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c"}`,
		`{}`, " {}\n", `{"extra":1}`, `{"email":"a"}x`, `{"email":"a"}{}`, `null`, `[]`, `""`, ``,
	} {
		f.Add([]byte(body), "application/json")
	}
	for _, ct := range []string{
		"", "application/json; charset=utf-8", "Application/JSON;charset=UTF8", "application/json; charset=latin1",
		"text/plain", "application/x-www-form-urlencoded", "application/problem+json", "application/json;",
		"application/json; charset=utf-8; charset=utf-8", "application/jsonx", "multipart/form-data; boundary=x",
	} {
		f.Add([]byte(`{"email":"ada@example.com","password":"correct horse battery"}`), ct)
	}

	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		for i, target := range decodeTargets {
			checkDecode(t, target, body, contentType, i == 0)
		}
	})
}

// decodeOnce runs decodeJSON as a handler would; decoded is false when an
// optional body is absent and the handler would not decode at all.
func decodeOnce(target decodeTarget, body []byte, contentType string) (dst any, err error, decoded bool) {
	r := httptest.NewRequest(http.MethodPost, "/v1/auth/"+target.name, bytes.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if target.optional && !hasBody(r) {
		return nil, nil, false
	}
	dst = target.new()
	return dst, decodeJSON(httptest.NewRecorder(), r, dst), true
}

// jsonContentType is the media-type rule of API.md, stated independently
// of decode.go: application/json, with no charset or a UTF-8 one.
func jsonContentType(ct string) bool {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return false
	}
	cs, ok := params["charset"]
	return !ok || strings.EqualFold(cs, "utf-8") || strings.EqualFold(cs, "utf8")
}

// allowedDetail is every client-facing detail decodeJSON may give. If the
// wording changes on purpose, change it here; the point is that none of
// them can carry bytes of the body.
var allowedDetail = regexp.MustCompile(`^(the body must be a JSON object|the body must be valid UTF-8|unexpected data after the JSON object|the request body is empty|the JSON body is truncated|invalid JSON at byte [0-9]+|field "(email|password|name|refresh_token)" must be a string|the request body could not be read)$`)

func checkDecode(t *testing.T, target decodeTarget, body []byte, contentType string, padCheck bool) {
	t.Helper()
	dst, err, decoded := decodeOnce(target, body, contentType)
	if !decoded {
		if len(body) != 0 {
			t.Fatalf("%s: a %d-byte body was not decoded", target.name, len(body))
		}
		return
	}
	ctOK := jsonContentType(contentType)
	over := len(body) > maxBodyBytes

	kinds := 0
	for _, sentinel := range []error{errMalformed, errTooLarge, errUnsupportedMedia} {
		if errors.Is(err, sentinel) {
			kinds++
		}
	}
	if err != nil && kinds != 1 {
		t.Fatalf("%s: error %v (%T) is not exactly one of the adapter's sentinels", target.name, err, err)
	}
	var d *detailError
	if errors.As(err, &d) && !allowedDetail.MatchString(d.detail) {
		t.Fatalf("%s: detail %q is not one of the fixed forms", target.name, d.detail)
	}

	switch {
	case !ctOK:
		if !errors.Is(err, errUnsupportedMedia) {
			t.Fatalf("%s: Content-Type %q: err = %v, want errUnsupportedMedia", target.name, contentType, err)
		}
		return
	case errors.Is(err, errUnsupportedMedia):
		t.Fatalf("%s: Content-Type %q is JSON but was refused as unsupported", target.name, contentType)
	case errors.Is(err, errTooLarge) && !over:
		t.Fatalf("%s: a %d-byte body (limit %d) was refused as too large", target.name, len(body), maxBodyBytes)
	case over && !errors.Is(err, errTooLarge):
		// The fuzz requests carry a Content-Length, so the size is known
		// up front and always wins (body_limit_test.go).
		t.Fatalf("%s: a %d-byte body (limit %d): err = %v, want errTooLarge", target.name, len(body), maxBodyBytes, err)
	}

	// Oracle: exactly one JSON object that encoding/json can put into the
	// struct, within the limit, in valid UTF-8 (encoding/json would turn
	// other bytes into U+FFFD; authd refuses them instead).
	want := target.new()
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	oracleOK := !over && utf8.Valid(body) && json.Valid(body) && len(trimmed) > 0 && trimmed[0] == '{' && json.Unmarshal(body, want) == nil
	switch {
	case err == nil && !oracleOK:
		t.Fatalf("%s: accepted %q, which is not one JSON object of the expected shape", target.name, body)
	case err != nil && oracleOK:
		t.Fatalf("%s: refused %q (%v), a valid JSON object of the expected shape", target.name, body, err)
	case err != nil:
		return
	}
	if !reflect.DeepEqual(dst, want) {
		t.Fatalf("%s: decoded %+v, encoding/json gives %+v", target.name, dst, want)
	}
	enc, merr := json.Marshal(dst)
	if merr != nil {
		t.Fatalf("%s: accepted value does not re-encode: %v", target.name, merr)
	}
	back := target.new()
	if uerr := json.Unmarshal(enc, back); uerr != nil || !reflect.DeepEqual(back, dst) {
		t.Fatalf("%s: %s does not decode back to %+v (%v)", target.name, enc, dst, uerr)
	}
	if padCheck {
		padded := append(bytes.Clone(body), bytes.Repeat([]byte(" "), maxBodyBytes+1-len(body))...)
		if _, err, _ := decodeOnce(target, padded, contentType); !errors.Is(err, errTooLarge) {
			t.Fatalf("%s: an accepted body padded to %d bytes: err = %v, want errTooLarge", target.name, len(padded), err)
		}
	}
}

// decodeSeed is one committed corpus entry.
type decodeSeed struct {
	name        string
	body        string
	contentType string
}

const jsonCT = "application/json"

// decodeCorpus is the hostile part of the seed corpus, committed under
// testdata/fuzz/FuzzDecodeJSON.
func decodeCorpus() []decodeSeed {
	nest := func(open, close string, n int) string {
		return strings.Repeat(open, n) + strings.Repeat(close, n)
	}
	valid := `{"email":"ada@example.com","password":"correct horse battery","name":"Ada"}`
	return []decodeSeed{
		{"valid register", valid, jsonCT},
		{"valid refresh", `{"refresh_token":"q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c"}`, jsonCT},
		{"valid with charset", valid, "application/json; charset=utf-8"},
		{"trailing object", valid + `{"email":"eve@example.com"}`, jsonCT},
		{"trailing garbage", valid + `garbage`, jsonCT},
		{"trailing number", valid + ` 1`, jsonCT},
		{"trailing close bracket", valid + `]`, jsonCT},
		{"trailing comma", valid + `,`, jsonCT},
		{"trailing NUL", valid + "\x00", jsonCT},
		{"trailing whitespace", valid + " \r\n\t", jsonCT},
		{"duplicate keys", `{"email":"ada@example.com","email":"eve@example.com","password":"p","password":"q"}`, jsonCT},
		{"duplicate keys differing in case", `{"email":"ada@example.com","EMAIL":"eve@example.com","Email":"mallory@example.com"}`, jsonCT},
		{"deeply nested arrays in a field", `{"email":` + nest("[", "]", 20000) + `}`, jsonCT},
		{"deeply nested arrays in an unknown field", `{"x":` + nest("[", "]", 20000) + `}`, jsonCT},
		{"nested arrays just under the depth limit", `{"x":` + nest("[", "]", 9998) + `}`, jsonCT},
		{"deeply nested objects", strings.Repeat(`{"a":`, 10500) + "1" + strings.Repeat("}", 10500), jsonCT},
		{"deeply nested unterminated", `{"x":` + strings.Repeat("[", 30000), jsonCT},
		{"huge exponent in a field", `{"email":1e999999999}`, jsonCT},
		{"huge exponent in an unknown field", `{"x":1e999999999,"email":"ada@example.com"}`, jsonCT},
		{"huge integer", `{"name":123456789012345678901234567890123456789012345678901234567890}`, jsonCT},
		{"huge integer in an unknown field", `{"x":` + strings.Repeat("9", 60000) + `}`, jsonCT},
		{"negative zero", `{"x":-0.0e-0}`, jsonCT},
		{"invalid UTF-8 in a string", "{\"email\":\"ada\xff\xfe@example.com\",\"password\":\"\xc3\x28\"}", jsonCT},
		{"invalid UTF-8 outside strings", "{\xff\"email\":\"a\"}", jsonCT},
		{"overlong UTF-8 encoding of a slash", "{\"name\":\"\xc0\xaf\"}", jsonCT},
		{"lone surrogate escape", `{"name":"\ud800","password":"\udc00\ud800"}`, jsonCT},
		{"byte order mark", "\xef\xbb\xbf" + valid, jsonCT},
		{"UTF-16 body", "\xff\xfe{\x00}\x00", jsonCT},
		{"null", `null`, jsonCT},
		{"empty array", `[]`, jsonCT},
		{"array of the object", `[` + valid + `]`, jsonCT},
		{"string", `"ada@example.com"`, jsonCT},
		{"number", `42`, jsonCT},
		{"true", `true`, jsonCT},
		{"empty body", ``, jsonCT},
		{"whitespace body", " \n\t\r ", jsonCT},
		{"escaped NUL in strings", `{"email":"ada\u0000@example.com","password":"\u0000\u0000","name":"\u0000"}`, jsonCT},
		{"raw NUL in a string", "{\"email\":\"ada\x00@example.com\"}", jsonCT},
		{"raw control character in a string", "{\"name\":\"a\nb\"}", jsonCT},
		{"field null", `{"email":null,"password":null}`, jsonCT},
		{"field number", `{"email":42}`, jsonCT},
		{"field object", `{"password":{"$ne":""}}`, jsonCT},
		{"field array", `{"refresh_token":["a","b"]}`, jsonCT},
		{"field bool", `{"name":true}`, jsonCT},
		{"truncated string", `{"email":"ada@exa`, jsonCT},
		{"truncated object", `{"email":"ada@example.com",`, jsonCT},
		{"single quotes", `{'email':'ada@example.com'}`, jsonCT},
		{"comment", `{"email":"ada@example.com"/* hi */}`, jsonCT},
		{"exactly at the limit", `{"name":"` + strings.Repeat("a", maxBodyBytes-11) + `"}`, jsonCT},
		{"one byte over the limit", `{"name":"` + strings.Repeat("a", maxBodyBytes-10) + `"}`, jsonCT},
		{"object padded past the limit", `{}` + strings.Repeat(" ", maxBodyBytes), jsonCT},
		{"content type missing", valid, ""},
		{"content type text plain", valid, "text/plain"},
		{"content type form", `email=ada%40example.com`, "application/x-www-form-urlencoded"},
		{"content type upper case", valid, "APPLICATION/JSON; CHARSET=UTF-8"},
		{"content type latin1", valid, "application/json; charset=iso-8859-1"},
		{"content type utf-16", valid, "application/json; charset=utf-16"},
		{"content type duplicate charset", valid, "application/json; charset=utf-8; charset=latin1"},
		{"content type problem json", valid, "application/problem+json"},
		{"content type with NUL", valid, "application/json\x00"},
		{"content type trailing semicolon", valid, "application/json;"},
		{"content type quoted charset", valid, `application/json; charset="utf-8"`},
	}
}

var updateFuzzCorpus = flag.Bool("update-fuzz-corpus", false, "rewrite testdata/fuzz/FuzzDecodeJSON from decodeCorpus")

const decodeCorpusDir = "testdata/fuzz/FuzzDecodeJSON"

var slugUnsafe = regexp.MustCompile(`[^a-z0-9]+`)

func decodeCorpusName(seed string) string {
	return "seed-" + strings.Trim(slugUnsafe.ReplaceAllString(strings.ToLower(seed), "-"), "-")
}

// decodeCorpusFile is Go's fuzz corpus encoding of (body, contentType).
func decodeCorpusFile(s decodeSeed) []byte {
	return fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\nstring(%q)\n", []byte(s.body), s.contentType)
}

// TestDecodeCorpusCurrent: the committed corpus is exactly decodeCorpus.
// -update-fuzz-corpus rewrites it.
func TestDecodeCorpusCurrent(t *testing.T) {
	want := map[string][]byte{}
	for _, s := range decodeCorpus() {
		name := decodeCorpusName(s.name)
		if _, dup := want[name]; dup {
			t.Fatalf("two seeds map to corpus file %s", name)
		}
		want[name] = decodeCorpusFile(s)
	}
	if *updateFuzzCorpus {
		if err := os.MkdirAll(decodeCorpusDir, 0o755); err != nil {
			t.Fatal(err)
		}
		old, _ := filepath.Glob(filepath.Join(decodeCorpusDir, "seed-*"))
		for _, p := range old {
			if _, keep := want[filepath.Base(p)]; !keep {
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
			}
		}
		for name, b := range want {
			if err := os.WriteFile(filepath.Join(decodeCorpusDir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	have, _ := filepath.Glob(filepath.Join(decodeCorpusDir, "seed-*"))
	if len(have) != len(want) {
		t.Errorf("%s has %d seed-* files, decodeCorpus %d seeds (run with -update-fuzz-corpus)", decodeCorpusDir, len(have), len(want))
	}
	for name, b := range want {
		got, err := os.ReadFile(filepath.Join(decodeCorpusDir, name))
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("%s/%s is missing or stale (run with -update-fuzz-corpus): %v", decodeCorpusDir, name, err)
		}
	}
}
