package secretbox

import (
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func writeFile(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secretbox.key")
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // past the umask
		t.Fatal(err)
	}
	return path
}

func TestLoadKeyFileEncodings(t *testing.T) {
	// 0xfb 0xff... gives '+' and '/' in std, '-' and '_' in url.
	raw := make([]byte, KeySize)
	for i := range raw {
		raw[i] = 0xfb + byte(i%5)
	}
	want := mustNew(t, raw)
	for name, line := range map[string]string{
		"std":               base64.StdEncoding.EncodeToString(raw) + "\n",
		"std, no newline":   base64.StdEncoding.EncodeToString(raw),
		"url":               base64.URLEncoding.EncodeToString(raw) + "\n",
		"raw std":           base64.RawStdEncoding.EncodeToString(raw) + "\n",
		"raw url":           base64.RawURLEncoding.EncodeToString(raw) + "\r\n",
		"surrounding blank": "\n  " + base64.StdEncoding.EncodeToString(raw) + "  \n\n",
	} {
		b, err := LoadKeyFile(writeFile(t, line, 0o600))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if b.KeyID() != want.KeyID() {
			t.Errorf("%s: key id %s, want %s", name, b.KeyID(), want.KeyID())
		}
	}
	if _, err := LoadKeyFile(writeFile(t, base64.StdEncoding.EncodeToString(raw), 0o400)); err != nil {
		t.Errorf("mode 0400: %v", err)
	}
}

func TestLoadKeyFileRefuses(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(make([]byte, KeySize))
	half := len(key) / 2
	for name, tc := range map[string]struct {
		content string
		mode    os.FileMode
		msg     string
	}{
		"16 bytes":       {base64.StdEncoding.EncodeToString(make([]byte, 16)), 0o600, "16 bytes, want 32"},
		"33 bytes":       {base64.StdEncoding.EncodeToString(make([]byte, 33)), 0o600, "33 bytes, want 32"},
		"empty":          {"", 0o600, "one line"},
		"blank":          {"\n \n", 0o600, "one line"},
		"two lines":      {key[:half] + "\n" + key[half:] + "\n", 0o600, "one line"},
		"two keys":       {key + "\n" + key + "\n", 0o600, "one line"},
		"not base64":     {strings.Repeat("!", 44), 0o600, "not base64"},
		"hex":            {strings.Repeat("ab", 32), 0o600, "want 32"},
		"a PEM file":     {"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n", 0o600, "one line"},
		"huge":           {strings.Repeat("A", maxKeyFile+1), 0o600, "larger than"},
		"group-readable": {key, 0o640, "chmod 600"},
		"world-readable": {key, 0o604, "chmod 600"},
		"group-writable": {key, 0o620, "chmod 600"},
		"0644":           {key, 0o644, "accessible to other users"},
	} {
		_, err := LoadKeyFile(writeFile(t, tc.content, tc.mode))
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: error %v, want one saying %q", name, err, tc.msg)
		}
		if err != nil && strings.Contains(err.Error(), key) {
			t.Errorf("%s: the error quotes the key: %v", name, err)
		}
	}
}

func TestLoadKeyFileMissingAndNotRegular(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadKeyFile(filepath.Join(dir, "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyFile(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
}

func TestCreateKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secretbox.key")
	if err := CreateKeyFile(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	content, _ := os.ReadFile(path)
	if raw, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(string(content), "\n")); err != nil || len(raw) != KeySize || !strings.HasSuffix(string(content), "\n") {
		t.Errorf("content %d bytes: not one line of base64 of 32 bytes (%v)", len(content), err)
	}
	b, err := LoadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}

	// Never over an existing file: the key stays.
	if err := CreateKeyFile(path); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second CreateKeyFile: %v, want fs.ErrExist", err)
	}
	again, _ := os.ReadFile(path)
	if string(again) != string(content) {
		t.Errorf("the existing key was overwritten")
	}
	// Nor over a file holding something else.
	other := writeFile(t, "not a key", 0o600)
	if err := CreateKeyFile(other); !errors.Is(err, fs.ErrExist) {
		t.Errorf("CreateKeyFile over another file: %v", err)
	}
	if got, _ := os.ReadFile(other); string(got) != "not a key" {
		t.Errorf("another file was overwritten")
	}
	// No temporary file is left behind.
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the key", len(entries))
	}
	// Two keys are different.
	path2 := filepath.Join(dir, "second.key")
	if err := CreateKeyFile(path2); err != nil {
		t.Fatal(err)
	}
	if b2, _ := LoadKeyFile(path2); b2.KeyID() == b.KeyID() {
		t.Errorf("two created keys share id %s", b.KeyID())
	}
	if err := CreateKeyFile(filepath.Join(dir, "missing-dir", "k")); err == nil {
		t.Errorf("CreateKeyFile in a missing directory succeeded")
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secretbox.key")
	first, created, err := LoadOrCreateKeyFile(path)
	if err != nil || !created {
		t.Fatalf("first: created %v, %v", created, err)
	}
	sealed, _ := first.Seal([]byte("kept"), []byte("u"))
	second, created, err := LoadOrCreateKeyFile(path)
	if err != nil || created {
		t.Fatalf("second: created %v, %v", created, err)
	}
	if got, err := second.Open(sealed, []byte("u")); err != nil || string(got) != "kept" {
		t.Errorf("the reloaded key does not open: %q, %v", got, err)
	}

	// A bad existing file is an error, never replaced.
	bad := writeFile(t, "junk", 0o600)
	if _, _, err := LoadOrCreateKeyFile(bad); err == nil {
		t.Errorf("junk key file accepted")
	}
	if got, _ := os.ReadFile(bad); string(got) != "junk" {
		t.Errorf("a bad key file was replaced")
	}
	if _, _, err := LoadOrCreateKeyFile(writeFile(t, base64.StdEncoding.EncodeToString(make([]byte, KeySize)), 0o644)); err == nil {
		t.Errorf("world-readable key file accepted")
	}
}

func TestLoadOrCreateKeyFileRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secretbox.key")
	const n = 8
	ids := make([]string, n)
	made := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			b, created, err := LoadOrCreateKeyFile(path)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i], made[i] = b.KeyID(), created
		})
	}
	wg.Wait()
	creators := 0
	for i := range n {
		if ids[i] != ids[0] {
			t.Errorf("racing loaders got keys %s and %s", ids[0], ids[i])
		}
		if made[i] {
			creators++
		}
	}
	if creators != 1 {
		t.Errorf("%d callers report creating the key, want 1", creators)
	}
}

func TestReadKeyFileRotation(t *testing.T) {
	dir := t.TempDir()
	oldPath, newPath := filepath.Join(dir, "old.key"), filepath.Join(dir, "new.key")
	for _, p := range []string{oldPath, newPath} {
		if err := CreateKeyFile(p); err != nil {
			t.Fatal(err)
		}
	}
	oldBox, _ := LoadKeyFile(oldPath)
	sealed, _ := oldBox.Seal([]byte("v"), nil)
	cur, err := ReadKeyFile(newPath)
	if err != nil {
		t.Fatal(err)
	}
	prev, err := ReadKeyFile(oldPath)
	if err != nil {
		t.Fatal(err)
	}
	b := mustNew(t, cur, prev)
	if got, err := b.Open(sealed, nil); err != nil || string(got) != "v" {
		t.Errorf("rotated box: %q, %v", got, err)
	}
}
