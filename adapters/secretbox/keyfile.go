package secretbox

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// A key file holds one line: the key in base64, standard or URL alphabet,
// padded or not, as `openssl rand -base64 32` writes it. It must be a
// regular file that no other user may access (mode 0600 or 0400).

// maxKeyFile bounds what is read: a key line is 45 bytes; a longer file is
// the wrong file.
const maxKeyFile = 1024

var encodings = []*base64.Encoding{
	base64.StdEncoding.Strict(), base64.URLEncoding.Strict(),
	base64.RawStdEncoding.Strict(), base64.RawURLEncoding.Strict(),
}

// LoadKeyFile returns a Box holding the key in the file at path. A missing
// file is an error matching fs.ErrNotExist.
func LoadKeyFile(path string) (*Box, error) {
	raw, err := ReadKeyFile(path)
	if err != nil {
		return nil, err
	}
	return New(raw)
}

// ReadKeyFile returns the key in the file at path, checking its mode and
// format as LoadKeyFile does. With it a rotation loads the current key and
// the previous ones for New.
func ReadKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("secretbox: key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("secretbox: key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("secretbox: key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("secretbox: key file %s is accessible to other users (mode %v): chmod 600 it", path, perm)
	}
	content, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("secretbox: key file: %w", err)
	}
	if len(content) > maxKeyFile {
		return nil, fmt.Errorf("secretbox: key file %s is larger than %d bytes: not a key file", path, maxKeyFile)
	}
	raw, err := parseKey(content)
	if err != nil {
		return nil, fmt.Errorf("secretbox: key file %s: %w", path, err)
	}
	return raw, nil
}

// parseKey decodes the one line of a key file. Its errors never quote the
// content.
func parseKey(content []byte) ([]byte, error) {
	line := bytes.TrimSpace(content)
	// The decoders skip line breaks; a key split over lines, or two keys,
	// is not one line.
	if len(line) == 0 || bytes.ContainsAny(line, " \t\r\n\v\f") {
		return nil, errors.New("want exactly one line of base64 (make one with `openssl rand -base64 32`)")
	}
	for _, enc := range encodings {
		raw, err := enc.DecodeString(string(line))
		if err != nil {
			continue
		}
		if len(raw) != KeySize {
			return nil, fmt.Errorf("the key is %d bytes, want %d", len(raw), KeySize)
		}
		return raw, nil
	}
	return nil, errors.New("not base64 (make a key with `openssl rand -base64 32`)")
}

// CreateKeyFile writes a new random key to path with mode 0600, never over
// an existing file (an error matching fs.ErrExist). The key is written to a
// temporary file in the same directory, synced, then linked into place, so
// path never holds half a key and, of two processes racing, one wins and
// the other fails.
func CreateKeyFile(path string) error {
	raw := make([]byte, KeySize)
	rand.Read(raw)
	line := base64.StdEncoding.AppendEncode(nil, raw)
	line = append(line, '\n')

	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".secretbox-key-*") // mode 0600, O_EXCL
	if err != nil {
		return fmt.Errorf("secretbox: create key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(line)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("secretbox: create key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return fmt.Errorf("secretbox: create key file: %w", err)
	}
	if d, err := os.Open(dir); err == nil { // make the new entry durable, best effort
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// LoadOrCreateKeyFile loads the key file at path, creating it first when
// it does not exist; created reports that this call made it. When two
// processes start at once, both end up with the one key that won.
func LoadOrCreateKeyFile(path string) (b *Box, created bool, err error) {
	b, err = LoadKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return b, false, err
	}
	switch err := CreateKeyFile(path); {
	case err == nil:
		created = true
	case !errors.Is(err, fs.ErrExist): // fs.ErrExist: another process made it first
		return nil, false, err
	}
	b, err = LoadKeyFile(path)
	if err != nil {
		return nil, false, err
	}
	return b, created, nil
}
