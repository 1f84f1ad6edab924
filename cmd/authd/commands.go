package main

import (
	"fmt"
	"io"

	"github.com/authd/authd/adapters/jwt"
	"github.com/authd/authd/adapters/postgres"
)

func migrate(direction string, cfg config, stdout io.Writer) error {
	if cfg.DatabaseURL == "" {
		return fmt.Errorf("invalid configuration: AUTH_DATABASE_URL: required for migrate")
	}
	switch direction {
	case "up":
		if err := postgres.MigrateUp(cfg.DatabaseURL); err != nil {
			return fmt.Errorf("migrate up: %w", err)
		}
	case "down":
		if err := postgres.MigrateDown(cfg.DatabaseURL); err != nil {
			return fmt.Errorf("migrate down: %w", err)
		}
	case "version":
	default:
		return usageError{fmt.Sprintf("unknown migrate direction %q (want up, down or version)", direction)}
	}
	v, dirty, err := postgres.MigrationVersion(cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("migrate version: %w", err)
	}
	fmt.Fprintf(stdout, "version %d dirty=%t\n", v, dirty)
	return nil
}

func keygen(alg string, stdout io.Writer) error {
	key, err := jwt.GenerateKey(alg)
	if err != nil {
		return usageError{err.Error()}
	}
	pemBytes, err := key.MarshalPEM()
	if err != nil {
		return err
	}
	_, err = stdout.Write(pemBytes)
	return err
}
