package main

import (
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/authd/authd/adapters/secretbox"
	"github.com/authd/authd/ports"
)

// defaultDataKeyFile is the embedded default's data key, in AUTH_DATA_DIR.
const defaultDataKeyFile = "data-key"

// loadDataKey is the key that encrypts second-factor secrets at rest
// (TOTP): AUTH_DATA_KEY_FILE; without it, the embedded default keeps one
// in AUTH_DATA_DIR (generated once), the in-memory store uses an
// ephemeral one (its data dies with it anyway), and any other store has
// none: TOTP is then off (enrolment answers 503), with a warning. A nil
// SecretBox means none.
func loadDataKey(cfg config, spec storeSpec, log *slog.Logger) (ports.SecretBox, error) {
	switch {
	case cfg.DataKeyFile != "":
		box, err := secretbox.LoadKeyFile(cfg.DataKeyFile)
		if err != nil {
			return nil, fmt.Errorf("invalid configuration: AUTH_DATA_KEY_FILE: %w", err)
		}
		log.Info("data key", slog.String("file", absPath(cfg.DataKeyFile)), slog.String("key_id", box.KeyID()), slog.String("source", "AUTH_DATA_KEY_FILE"))
		return box, nil
	case spec.embedded:
		path := filepath.Join(spec.dataDir, defaultDataKeyFile)
		box, created, err := secretbox.LoadOrCreateKeyFile(path)
		if err != nil {
			return nil, fmt.Errorf("the embedded default's data key %s: %w", absPath(path), err)
		}
		source := "embedded default: reused"
		if created {
			source = "embedded default: generated now, reused by every restart"
		}
		log.Info("data key", slog.String("file", absPath(path)), slog.String("key_id", box.KeyID()), slog.String("source", source))
		return box, nil
	case spec.kind == kindMemory:
		raw := make([]byte, secretbox.KeySize)
		if _, err := io.ReadFull(rand.Reader, raw); err != nil {
			return nil, err
		}
		box, err := secretbox.New(raw)
		if err != nil {
			return nil, err
		}
		return box, nil
	}
	log.Warn("AUTH_DATA_KEY_FILE is empty: TOTP second factors are off (enrolment answers 503; accounts that have one cannot finish a login); create one with `authd keygen -data-key -out FILE`")
	return nil, nil
}

// dataKeygen writes a new data key to out (never overwriting; with
// ifMissing an existing valid key is kept).
func dataKeygen(out string, ifMissing bool, stdout io.Writer) error {
	if ifMissing {
		box, created, err := secretbox.LoadOrCreateKeyFile(out)
		if err != nil {
			return fmt.Errorf("keygen: %w", err)
		}
		verb := "kept existing"
		if created {
			verb = "wrote new"
		}
		_, err = fmt.Fprintf(stdout, "%s data key %s in %s\n", verb, box.KeyID(), out)
		return err
	}
	if err := secretbox.CreateKeyFile(out); err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	box, err := secretbox.LoadKeyFile(out)
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "wrote new data key %s in %s\n", box.KeyID(), out)
	return err
}
