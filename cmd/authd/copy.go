package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/authd/authd/adapters/system"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// copyPage is how many accounts copyAccounts reads at a time.
const copyPage = 500

// copyAccounts copies every account, with its password hash, from the
// configured store into the store at toURL (migrated first): the way from
// SQLite to Postgres and back. An account whose email the destination
// already holds (or whose id) is skipped, so a second run only adds what is new.
// Sessions, refresh tokens, the throttle and the audit log stay behind:
// every user logs in once more on the new store.
func copyAccounts(ctx context.Context, cfg config, toURL string, stdout io.Writer, log *slog.Logger) error {
	from, err := cfg.store()
	if err != nil {
		return err
	}
	to, err := parseStore(toURL, cfg.DataDir)
	if err != nil {
		return usageError{Msg: "copy-accounts -to: " + err.Error()}
	}
	switch {
	case from.kind == kindMemory:
		return usageError{Msg: "copy-accounts copies from the configured store; memory: holds nothing that outlives a process"}
	case to.kind == kindMemory:
		return usageError{Msg: "copy-accounts -to memory: would copy into a store that vanishes when the command exits"}
	case from.kind == to.kind && from.describe() == to.describe():
		return usageError{Msg: "copy-accounts: the source and the destination are the same store (" + from.describe() + ")"}
	}
	src, closeSrc, err := openExisting(ctx, from)
	if err != nil {
		return err
	}
	defer closeSrc()
	if to.kind == kindSQLite {
		if err := precreate(to.file); err != nil {
			return err
		}
	}
	dst, err := openStore(ctx, to, true, log)
	if err != nil {
		return err
	}
	defer dst.close()

	clock := system.Clock{}
	var copied, skipped, noPassword int
	var after domain.UserID
	for {
		page, err := src.ListUsers(ctx, ports.UserFilter{After: after, Limit: copyPage})
		if err != nil {
			return fmt.Errorf("copy-accounts: read accounts from %s: %w", from.describe(), err)
		}
		for _, u := range page {
			// Already there (an earlier run, or the same address): skip.
			if _, err := dst.st.UserByID(ctx, u.ID()); err == nil {
				skipped++
				continue
			} else if !errors.Is(err, domain.ErrNotFound) {
				return fmt.Errorf("copy-accounts: look up %s in %s: %w", u.ID(), to.describe(), err)
			}
			hash, err := src.PasswordHash(ctx, u.ID())
			switch {
			case errors.Is(err, domain.ErrNotFound):
				hash = ""
				noPassword++
			case err != nil:
				return fmt.Errorf("copy-accounts: read the password of %s: %w", u.ID(), err)
			}
			err = dst.st.WithinTx(ctx, func(tx ports.Stores) error {
				if err := tx.Users.CreateUser(ctx, u); err != nil {
					return err
				}
				if hash == "" {
					return nil
				}
				return tx.Passwords.SetPassword(ctx, u.ID(), hash, clock.Now())
			})
			switch {
			case errors.Is(err, domain.ErrEmailTaken):
				skipped++
			case err != nil:
				return fmt.Errorf("copy-accounts: write %s to %s: %w", u.ID(), to.describe(), err)
			default:
				copied++
			}
		}
		if len(page) < copyPage {
			break
		}
		after = page[len(page)-1].ID()
	}
	fmt.Fprintf(stdout, "copied %d accounts from %s to %s; skipped %d already there (same id or email)", copied, from.describe(), to.describe(), skipped)
	if noPassword > 0 {
		fmt.Fprintf(stdout, "; %d had no password", noPassword)
	}
	fmt.Fprintln(stdout, "\nsessions, refresh tokens, the login throttle and the audit log were not copied: every user logs in once more")
	return nil
}
