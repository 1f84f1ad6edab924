// Command authd is the authentication service. It is the only package that
// knows every adapter: it reads the configuration, builds the adapters,
// wires them into the use cases and runs the chosen command.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/authd/authd/cmd/internal/cli"
)

const usage = `usage:
  authd [serve]                        run the HTTP server
  authd migrate up|down|version        manage the schema of the configured store (SQLite or Postgres)
  authd backup -to FILE                a consistent copy of the SQLite store into the new FILE,
                                       while servers run on it (Postgres: use pg_dump)
  authd copy-accounts -to URL          copy every account (with its password hash) from the configured
                                       store into the store at URL (SQLite <-> Postgres); sessions stay
  authd keygen [-alg ES256|RS256|EdDSA] [-out FILE [-if-missing]]
                                       write a new PEM private key to stdout or FILE
  authd keygen -data-key -out FILE [-if-missing]
                                       write a new data key (AUTH_DATA_KEY_FILE: encrypts
                                       second-factor secrets at rest)
  authd healthcheck                    exit 0 when the server on AUTH_ADDR is ready
  authd admin create-user EMAIL [-name NAME] [-role user|admin] [-password-file FILE]
                                       create an account; the password is the first line of
                                       stdin (or of FILE), never a command-line argument
  authd admin set-role EMAIL user|admin
                                       change a role; issued access tokens keep the old one
                                       until they expire, the next login or refresh gets it
  authd admin revoke-sessions EMAIL    end every active session of a user; prints how many
  authd admin list-users [-email TEXT] [-limit N] [-after CURSOR]
                                       list users oldest first, N a page (default 50, at most
                                       500); prints "next cursor: ..." when more follow
  authd admin verify-email EMAIL       mark the account's email verified
  authd admin resend-verification EMAIL
                                       queue a new verification mail (a running server sends it)
  authd admin remove-factors EMAIL     remove every second factor (TOTP, recovery codes,
                                       passkeys): the next login needs the password only
                                       (admin commands act on the configured SQLite or Postgres
                                       store, not on memory:)

Store: AUTH_DATABASE_URL empty is SQLite in AUTH_DATA_DIR (default ./authd-data);
sqlite:PATH, postgres://... or memory: choose another.
Configuration is read from AUTH_* environment variables; see README.md.
`

func main() { cli.Main("authd", usage, run) }

// usageError is a command line that cannot be run (exit 2 with the usage).
type usageError = cli.UsageError

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		if len(args) > 0 {
			return usageError{Msg: "serve takes no arguments"}
		}
		cfg, err := loadConfig()
		if err != nil {
			return err
		}
		return serve(ctx, cfg, newLogger(cfg, stderr))
	case "migrate":
		if len(args) != 1 {
			return usageError{Msg: "migrate needs one of: up, down, version"}
		}
		cfg, err := loadConfig()
		if err != nil {
			return err
		}
		return migrate(ctx, args[0], cfg, stdout, newLogger(cfg, stderr))
	case "backup":
		fs := newFlagSet("backup")
		to := fs.String("to", "", "the new file to write")
		if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *to == "" {
			return usageError{Msg: "backup takes -to FILE (a new file)"}
		}
		cfg, err := loadConfig()
		if err != nil {
			return err
		}
		return backup(ctx, cfg, *to, stdout)
	case "copy-accounts":
		fs := newFlagSet("copy-accounts")
		to := fs.String("to", "", "the destination store's URL")
		if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *to == "" {
			return usageError{Msg: "copy-accounts takes -to URL (sqlite:PATH or postgres://...)"}
		}
		cfg, err := loadConfig()
		if err != nil {
			return err
		}
		return copyAccounts(ctx, cfg, *to, stdout, newLogger(cfg, stderr))
	case "keygen":
		fs := newFlagSet("keygen")
		alg := fs.String("alg", "ES256", "ES256, RS256 or EdDSA")
		out := fs.String("out", "", "write to this file (mode 0600, never overwritten) instead of stdout")
		ifMissing := fs.Bool("if-missing", false, "with -out: keep an existing valid key")
		dataKey := fs.Bool("data-key", false, "a data key (AUTH_DATA_KEY_FILE: encrypts second-factor secrets) instead of a signing key; needs -out")
		if err := fs.Parse(args); err != nil || fs.NArg() > 0 || (*ifMissing && *out == "") || (*dataKey && *out == "") {
			return usageError{Msg: "keygen takes only -alg ES256|RS256|EdDSA, -out FILE, -if-missing (with -out) and -data-key (with -out)"}
		}
		if *dataKey {
			return dataKeygen(*out, *ifMissing, stdout)
		}
		return keygen(*alg, *out, *ifMissing, stdout)
	case "healthcheck":
		if len(args) > 0 {
			return usageError{Msg: "healthcheck takes no arguments"}
		}
		cfg, err := loadConfig()
		if err != nil {
			return err
		}
		return healthcheck(ctx, cfg, stdout)
	case "admin":
		return runAdmin(ctx, args, os.Stdin, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return usageError{Msg: fmt.Sprintf("unknown command %q", cmd)}
	}
}

func newLogger(cfg config, w io.Writer) *slog.Logger {
	level, _ := cfg.level()
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
