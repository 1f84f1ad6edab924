package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/authd/authd/adapters/postgres/internal/sqlcdb"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

var _ ports.Passkeys = (*Store)(nil)

// AddPasskey inserts p: the unique constraint on the credential id, not a
// read first, decides a credential registered already
// (domain.ErrPasskeyExists through translate), the foreign key an unknown
// user (domain.ErrNotFound).
func (r *repos) AddPasskey(ctx context.Context, p domain.Passkey) error {
	const op = "add passkey"
	id, ok := canonicalUUID(string(p.ID))
	if !ok {
		return fmt.Errorf("postgres: %s: id %q is not a canonical UUID", op, p.ID)
	}
	uid, ok := userUUID(p.UserID)
	if !ok {
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
	}
	var lastUsed *time.Time
	if !p.LastUsedAt.IsZero() {
		lastUsed = &p.LastUsedAt
	}
	err := r.q.AddPasskey(ctx, sqlcdb.AddPasskeyParams{
		ID:           id,
		UserID:       uid,
		CredentialID: p.CredentialID,
		Name:         p.Name,
		Data:         p.Data,
		SignCount:    int64(p.SignCount),
		CreatedAt:    p.CreatedAt,
		LastUsedAt:   lastUsed,
	})
	return r.translate(op, err)
}

// PasskeysOf lists the user's passkeys, oldest first.
func (r *repos) PasskeysOf(ctx context.Context, user domain.UserID) ([]domain.Passkey, error) {
	uid, ok := userUUID(user)
	if !ok {
		return nil, nil
	}
	rows, err := r.q.PasskeysOf(ctx, uid)
	if err != nil {
		return nil, r.translate("passkeys of", err)
	}
	out := make([]domain.Passkey, 0, len(rows))
	for _, row := range rows {
		out = append(out, passkeyFromRow(row))
	}
	return out, nil
}

// PasskeyByCredentialID finds a passkey by its credential id.
func (r *repos) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (domain.Passkey, error) {
	row, err := r.q.PasskeyByCredentialID(ctx, credentialID)
	if err != nil {
		return domain.Passkey{}, r.translate("passkey by credential id", err)
	}
	return passkeyFromRow(row), nil
}

// PasskeyUsed records a sign-in.
func (r *repos) PasskeyUsed(ctx context.Context, id domain.PasskeyID, data []byte, signCount uint32, now time.Time) error {
	const op = "passkey used"
	return r.onePasskey(op, id, func(pid uuid.UUID) (int64, error) {
		return r.q.PasskeyUsed(ctx, sqlcdb.PasskeyUsedParams{Data: data, SignCount: int64(signCount), Now: now, ID: pid})
	})
}

// RenamePasskey renames the user's own passkey.
func (r *repos) RenamePasskey(ctx context.Context, user domain.UserID, id domain.PasskeyID, name string) error {
	const op = "rename passkey"
	uid, ok := userUUID(user)
	if !ok {
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
	}
	return r.onePasskey(op, id, func(pid uuid.UUID) (int64, error) {
		return r.q.RenamePasskey(ctx, sqlcdb.RenamePasskeyParams{Name: name, ID: pid, UserID: uid})
	})
}

// DeletePasskey deletes the user's own passkey.
func (r *repos) DeletePasskey(ctx context.Context, user domain.UserID, id domain.PasskeyID) error {
	const op = "delete passkey"
	uid, ok := userUUID(user)
	if !ok {
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
	}
	return r.onePasskey(op, id, func(pid uuid.UUID) (int64, error) {
		return r.q.DeletePasskey(ctx, sqlcdb.DeletePasskeyParams{ID: pid, UserID: uid})
	})
}

// onePasskey runs a statement on one passkey: no row is an unknown id (or
// another user's).
func (r *repos) onePasskey(op string, id domain.PasskeyID, stmt func(uuid.UUID) (int64, error)) error {
	pid, ok := canonicalUUID(string(id))
	if !ok {
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
	}
	n, err := stmt(pid)
	switch {
	case err != nil:
		return r.translate(op, err)
	case n == 0:
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
	}
	return nil
}

// DeletePasskeys deletes all the user's passkeys.
func (r *repos) DeletePasskeys(ctx context.Context, user domain.UserID) (int, error) {
	uid, ok := userUUID(user)
	if !ok {
		return 0, nil
	}
	n, err := r.q.DeletePasskeys(ctx, uid)
	if err != nil {
		return 0, r.translate("delete passkeys", err)
	}
	return int(n), nil
}

func passkeyFromRow(row sqlcdb.Passkey) domain.Passkey {
	var lastUsed time.Time
	if row.LastUsedAt != nil {
		lastUsed = *row.LastUsedAt
	}
	return domain.Passkey{
		ID:           domain.PasskeyID(row.ID.String()),
		UserID:       domain.UserID(row.UserID.String()),
		CredentialID: row.CredentialID,
		Name:         row.Name,
		Data:         row.Data,
		SignCount:    uint32(row.SignCount), // the CHECK constraint bounds it
		CreatedAt:    row.CreatedAt,
		LastUsedAt:   lastUsed,
	}
}

// CreateCeremony inserts c: no user (usernameless sign-in) and no login
// challenge are NULL.
func (r *repos) CreateCeremony(ctx context.Context, c domain.Ceremony) error {
	const op = "create ceremony"
	var user *uuid.UUID
	if c.UserID != "" {
		uid, ok := userUUID(c.UserID)
		if !ok {
			return fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
		}
		user = &uid
	}
	var mfa []byte
	if c.MFAToken != (domain.MFATokenHash{}) {
		mfa = c.MFAToken[:]
	}
	err := r.q.CreateCeremony(ctx, sqlcdb.CreateCeremonyParams{
		Hash: c.Hash[:], Kind: string(c.Kind), UserID: user, MfaToken: mfa, State: c.State, ExpiresAt: c.ExpiresAt,
	})
	return r.translate(op, err)
}

// UseCeremony deletes and returns the ceremony in one DELETE ... RETURNING:
// of concurrent uses exactly one gets it.
func (r *repos) UseCeremony(ctx context.Context, hash domain.CeremonyHash) (domain.Ceremony, error) {
	const op = "use ceremony"
	row, err := r.q.UseCeremony(ctx, hash[:])
	if err != nil {
		return domain.Ceremony{}, r.translate(op, err)
	}
	if len(row.Hash) != len(domain.CeremonyHash{}) || (row.MfaToken != nil && len(row.MfaToken) != len(domain.MFATokenHash{})) {
		// The CHECK constraints make this unreachable short of a schema drift.
		return domain.Ceremony{}, fmt.Errorf("postgres: %s: malformed row", op)
	}
	c := domain.Ceremony{
		Hash:      domain.CeremonyHash(row.Hash),
		Kind:      domain.CeremonyKind(row.Kind),
		State:     row.State,
		ExpiresAt: row.ExpiresAt,
	}
	if row.UserID != nil {
		c.UserID = domain.UserID(row.UserID.String())
	}
	if row.MfaToken != nil {
		c.MFAToken = domain.MFATokenHash(row.MfaToken)
	}
	return c, nil
}

// PruneCeremonies deletes up to b.Limit ceremonies expired at now.
func (s *Store) PruneCeremonies(ctx context.Context, now time.Time, b ports.PruneBatch) (ports.PruneResult, error) {
	const op = "prune ceremonies"
	limit, err := pruneLimit(op, b)
	if err != nil {
		return ports.PruneResult{}, err
	}
	n, err := s.q.PruneCeremonies(ctx, sqlcdb.PruneCeremoniesParams{Now: now, MaxRows: limit})
	return pruned(s, op, n, limit, err)
}
