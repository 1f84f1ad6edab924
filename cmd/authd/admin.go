package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/authd/authd/application"
	"github.com/authd/authd/application/admin"
	"github.com/authd/authd/domain"
)

// The admin commands are a second driving adapter next to adapters/httpapi:
// they parse a command line instead of a request, call the same
// admin use cases, and print text instead of JSON. Like the HTTP
// adapter, they never touch a repository themselves.
//
// Exit status (see main): 0 done, 1 the command failed (unknown email,
// invalid input, database trouble), 2 the command line is wrong.

// adminCommand is a parsed admin command line, run once the store is open.
type adminCommand struct {
	// email is the account the command names, as typed, for messages.
	email string
	// needsPassword: read it (from passwordFile, or stdin) before connecting.
	needsPassword bool
	passwordFile  string
	run           func(ctx context.Context, svc *admin.Service, password string, stdout, stderr io.Writer) error
}

// runAdmin runs `authd admin SUBCOMMAND ...`. The command line is checked
// before anything else is touched, so a usage error never waits on a
// database.
func runAdmin(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{Msg: "admin needs a subcommand: create-user, set-role, revoke-sessions, list-users, verify-email, resend-verification or remove-factors"}
	}
	cmd, err := parseAdmin(args[0], args[1:])
	if err != nil {
		return err
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	spec, err := cfg.store()
	if err != nil {
		return err
	}
	if spec.kind == kindMemory {
		// The in-memory store lives inside one process: a user created
		// here would vanish when this command exits, unseen by any server.
		return errors.New("invalid configuration: AUTH_DATABASE_URL: memory: cannot be used by admin commands (they act on the server's database: empty for the embedded SQLite default, sqlite:PATH or postgres://...; the in-memory store is private to one process)")
	}
	var password string
	if cmd.needsPassword {
		if password, err = readPassword(stdin, cmd.passwordFile, stderr); err != nil {
			return err
		}
	}
	svc, closeStore, err := adminService(ctx, spec, cfg)
	if err != nil {
		return err
	}
	defer closeStore()
	return describeAdminError(cmd.run(ctx, svc, password, stdout, stderr), cmd.email)
}

func parseAdmin(sub string, args []string) (adminCommand, error) {
	switch sub {
	case "create-user":
		fs := newFlagSet(sub)
		name := fs.String("name", "", "display name")
		role := fs.String("role", "user", "user or admin")
		file := fs.String("password-file", "", "read the password from the first line of this file instead of stdin")
		pos, err := parseInterleaved(fs, args)
		if err != nil || len(pos) != 1 {
			return adminCommand{}, usageError{Msg: "create-user takes one EMAIL and only -name NAME, -role user|admin and -password-file FILE; " +
				"the password comes from stdin or the file, never from the command line (ps and shell history would show it)" + flagProblem(err)}
		}
		if _, err := domain.ParseRole(*role); err != nil {
			return adminCommand{}, usageError{Msg: fmt.Sprintf("create-user: unknown role %q (want user or admin)", *role)}
		}
		in := admin.CreateUserInput{Email: pos[0], Name: *name, Role: *role}
		return adminCommand{email: pos[0], needsPassword: true, passwordFile: *file,
			run: func(ctx context.Context, svc *admin.Service, password string, stdout, _ io.Writer) error {
				in.Password = password
				u, err := svc.CreateUser(ctx, in)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(stdout, "created user %s (id %s, role %s)\n", printable(u.Email().String()), u.ID(), u.Role())
				return err
			}}, nil

	case "set-role":
		pos, err := parseInterleaved(newFlagSet(sub), args)
		if err != nil || len(pos) != 2 {
			return adminCommand{}, usageError{Msg: "set-role takes EMAIL and a role, user or admin" + flagProblem(err)}
		}
		if _, err := domain.ParseRole(pos[1]); err != nil {
			return adminCommand{}, usageError{Msg: fmt.Sprintf("set-role: unknown role %q (want user or admin)", pos[1])}
		}
		in := admin.SetRoleInput{Email: pos[0], Role: pos[1]}
		return adminCommand{email: pos[0],
			run: func(ctx context.Context, svc *admin.Service, _ string, stdout, stderr io.Writer) error {
				c, err := svc.SetRole(ctx, in)
				if err != nil {
					return err
				}
				email := printable(c.User.Email().String())
				if c.Previous == c.User.Role() {
					_, err = fmt.Fprintf(stdout, "%s already has role %s\n", email, c.User.Role())
					return err
				}
				fmt.Fprintln(stderr, "note: access tokens already issued keep the old role until they expire; the next login or refresh gets the new one ('authd admin revoke-sessions' ends the sessions now)")
				_, err = fmt.Fprintf(stdout, "%s: role %s -> %s\n", email, c.Previous, c.User.Role())
				return err
			}}, nil

	case "revoke-sessions":
		pos, err := parseInterleaved(newFlagSet(sub), args)
		if err != nil || len(pos) != 1 {
			return adminCommand{}, usageError{Msg: "revoke-sessions takes one EMAIL" + flagProblem(err)}
		}
		email := pos[0]
		return adminCommand{email: email,
			run: func(ctx context.Context, svc *admin.Service, _ string, stdout, _ io.Writer) error {
				n, err := svc.RevokeUserSessions(ctx, email)
				if err != nil {
					return err
				}
				noun := "sessions"
				if n == 1 {
					noun = "session"
				}
				_, err = fmt.Fprintf(stdout, "revoked %d active %s of %s\n", n, noun, printable(strings.TrimSpace(email)))
				return err
			}}, nil

	case "remove-factors":
		pos, err := parseInterleaved(newFlagSet(sub), args)
		if err != nil || len(pos) != 1 {
			return adminCommand{}, usageError{Msg: "remove-factors takes one EMAIL" + flagProblem(err)}
		}
		ref := admin.AccountRef{Email: pos[0]}
		email := printable(strings.TrimSpace(pos[0]))
		return adminCommand{email: pos[0],
			run: func(ctx context.Context, svc *admin.Service, _ string, stdout, _ io.Writer) error {
				out, err := svc.RemoveFactors(ctx, ref, application.Actor{})
				if err != nil {
					return err
				}
				if !out.Any() {
					_, err = fmt.Fprintf(stdout, "%s has no second factor\n", email)
					return err
				}
				_, err = fmt.Fprintf(stdout, "%s: removed TOTP %v, %d recovery codes, %d passkeys; the next login needs the password only\n",
					email, out.TOTP, out.RecoveryCodes, out.Others)
				return err
			}}, nil

	case "verify-email", "resend-verification":
		pos, err := parseInterleaved(newFlagSet(sub), args)
		if err != nil || len(pos) != 1 {
			return adminCommand{}, usageError{Msg: sub + " takes one EMAIL" + flagProblem(err)}
		}
		ref := admin.AccountRef{Email: pos[0]}
		email := printable(strings.TrimSpace(pos[0]))
		if sub == "verify-email" {
			return adminCommand{email: pos[0],
				run: func(ctx context.Context, svc *admin.Service, _ string, stdout, _ io.Writer) error {
					if _, err := svc.MarkEmailVerified(ctx, ref, application.Actor{}); err != nil {
						return err
					}
					_, err := fmt.Fprintf(stdout, "%s: email verified\n", email)
					return err
				}}, nil
		}
		return adminCommand{email: pos[0],
			run: func(ctx context.Context, svc *admin.Service, _ string, stdout, _ io.Writer) error {
				if err := svc.ResendVerification(ctx, ref, application.Actor{}); err != nil {
					return err
				}
				_, err := fmt.Fprintf(stdout, "%s: verification mail queued (a running authd sends it)\n", email)
				return err
			}}, nil

	case "list-users":
		fs := newFlagSet(sub)
		contains := fs.String("email", "", "only emails containing this text (case-insensitive)")
		limit := fs.Int("limit", admin.DefaultUserPageSize, fmt.Sprintf("users per page, at most %d", admin.MaxUserPageSize))
		after := fs.String("after", "", "the cursor a previous page printed")
		pos, err := parseInterleaved(fs, args)
		if err != nil || len(pos) != 0 {
			return adminCommand{}, usageError{Msg: "list-users takes only -email TEXT, -limit N and -after CURSOR" + flagProblem(err)}
		}
		if *limit < 1 || *limit > admin.MaxUserPageSize {
			return adminCommand{}, usageError{Msg: fmt.Sprintf("list-users: -limit must be between 1 and %d", admin.MaxUserPageSize)}
		}
		if *after != "" {
			if _, err := domain.ParseUserID(*after); err != nil {
				return adminCommand{}, usageError{Msg: "list-users: -after must be a cursor printed by a previous page (a user id)"}
			}
		}
		in := admin.ListUsersInput{EmailContains: *contains, Limit: *limit, After: *after}
		return adminCommand{
			run: func(ctx context.Context, svc *admin.Service, _ string, stdout, _ io.Writer) error {
				page, err := svc.ListUsers(ctx, in)
				if err != nil {
					return err
				}
				return printUsers(stdout, page)
			}}, nil
	}
	return adminCommand{}, usageError{Msg: fmt.Sprintf("unknown admin subcommand %q (want create-user, set-role, revoke-sessions, list-users, verify-email, resend-verification or remove-factors)", sub)}
}

// printUsers writes the page as an aligned table, then the cursor of the
// next page when there is one.
func printUsers(w io.Writer, page admin.UserPage) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tROLE\tCREATED")
	for _, u := range page.Users {
		name := printable(u.Name())
		if name == "" {
			name = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.ID(), printable(u.Email().String()), name, u.Role(), u.CreatedAt().UTC().Format(time.RFC3339))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if page.Next != "" {
		_, err := fmt.Fprintf(w, "next cursor: %s\n", page.Next)
		return err
	}
	return nil
}

// printable keeps stored text from steering the terminal or breaking the
// table: control characters (escape sequences, tabs, newlines) become '?'.
// New names and emails cannot hold them; imported rows might.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

// describeAdminError turns the use cases' errors into what an operator
// needs to read, the way adapters/httpapi maps them to problem+json.
func describeAdminError(err error, email string) error {
	if err == nil {
		return nil
	}
	email = printable(strings.TrimSpace(email))
	var v *domain.ValidationError
	switch {
	case errors.As(err, &v):
		msgs := make([]string, len(v.Fields))
		for i, f := range v.Fields {
			msgs[i] = f.Message
		}
		return fmt.Errorf("invalid input: %s", strings.Join(msgs, "; "))
	case errors.Is(err, domain.ErrNotFound):
		return fmt.Errorf("no user with email %s", email)
	case errors.Is(err, domain.ErrEmailAlreadyVerified):
		return fmt.Errorf("the email of %s is verified already", email)
	case errors.Is(err, domain.ErrEmailTaken):
		return fmt.Errorf("a user with email %s already exists", email)
	case errors.Is(err, domain.ErrUnavailable):
		return fmt.Errorf("the database is unavailable, try again later: %w", err)
	}
	return err
}

// maxPasswordLine is the most read for a password: the policy's maximum
// plus a CRLF. A longer line arrives cut here and still fails the policy
// as too long, which is the right message.
const maxPasswordLine = domain.MaxPasswordBytes + 2

// readPassword returns the first line of file, or of stdin when file is
// empty, without its line ending. Nothing else is trimmed: spaces are part
// of a password. An empty first line is an error.
func readPassword(stdin io.Reader, file string, stderr io.Writer) (string, error) {
	src, from := stdin, "stdin"
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return "", fmt.Errorf("password file: %w", err)
		}
		defer f.Close()
		src, from = f, file
	} else if isTerminal(stdin) {
		// No dependency here can turn echo off; say so rather than surprise.
		fmt.Fprint(stderr, "password (first line; the terminal shows what you type, prefer a pipe or -password-file): ")
	}
	line, err := bufio.NewReader(io.LimitReader(src, maxPasswordLine)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from %s: %w", from, err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", fmt.Errorf("no password: the first line of %s is empty (write the password as the first line of stdin, or use -password-file FILE)", from)
	}
	return line, nil
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// adminService opens the configured store (SQLite or Postgres), which must
// exist at this binary's schema (an admin command never migrates), and
// builds the use cases over it; the returned func closes the store.
//
// The admin use cases need no signing key: no admin command issues or
// verifies a token.
func adminService(ctx context.Context, spec storeSpec, cfg config) (*admin.Service, func(), error) {
	st, closeStore, err := openExisting(ctx, spec)
	if err != nil {
		return nil, nil, err
	}
	svc, err := newAdmin(st, slog.New(slog.NewTextHandler(os.Stderr, nil)), newHasher(), cfg)
	if err != nil {
		closeStore()
		return nil, nil, err
	}
	return svc, closeStore, nil
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseInterleaved parses flags before, between and after the positional
// arguments (`create-user EMAIL -role admin` reads naturally; package flag
// alone stops at EMAIL) and returns the positionals. After "--" everything
// is positional, for an email that starts with '-'.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := args[:len(args)-len(rest)]; len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// flagProblem appends package flag's complaint (it names the flag, never a
// value of an undefined one) to a usage message.
func flagProblem(err error) string {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return ""
	}
	return " (" + err.Error() + ")"
}
