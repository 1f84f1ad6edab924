package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/authd/authd/adapters/sqlite/internal/sqlcdb"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

var _ ports.Passkeys = (*Store)(nil)

// AddPasskey inserts p: the unique index on the credential id decides
// duplicates (domain.ErrPasskeyExists through translate), the foreign key
// an unknown user (domain.ErrNotFound).
func (r *repos) AddPasskey(ctx context.Context, p domain.Passkey) error {
	const op = "add passkey"
	if !canonicalID(string(p.UserID)) {
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrNotFound)
	}
	if !canonicalID(string(p.ID)) {
		return fmt.Errorf("sqlite: %s: id %q is not a canonical UUID", op, p.ID)
	}
	err := r.w.AddPasskey(ctx, sqlcdb.AddPasskeyParams{
		ID:           string(p.ID),
		UserID:       string(p.UserID),
		CredentialID: p.CredentialID,
		Name:         p.Name,
		Data:         p.Data,
		SignCount:    int64(p.SignCount),
		CreatedAt:    micros(p.CreatedAt),
		LastUsedAt:   nullMicros(p.LastUsedAt),
	})
	if isForeignKeyViolation(err) {
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrNotFound)
	}
	return r.translate(op, err)
}

// PasskeysOf lists the user's passkeys, oldest first.
func (r *repos) PasskeysOf(ctx context.Context, user domain.UserID) ([]domain.Passkey, error) {
	if !canonicalID(string(user)) {
		return nil, nil
	}
	rows, err := r.r.PasskeysOf(ctx, string(user))
	if err != nil {
		return nil, r.translate("passkeys of", err)
	}
	out := make([]domain.Passkey, 0, len(rows))
	for _, row := range rows {
		p, err := passkeyFromRow(row)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// PasskeyByCredentialID finds a passkey by its credential id.
func (r *repos) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (domain.Passkey, error) {
	row, err := r.r.PasskeyByCredentialID(ctx, credentialID)
	if err != nil {
		return domain.Passkey{}, r.translate("passkey by credential id", err)
	}
	return passkeyFromRow(row)
}

// PasskeyUsed records a sign-in.
func (r *repos) PasskeyUsed(ctx context.Context, id domain.PasskeyID, data []byte, signCount uint32, now time.Time) error {
	const op = "passkey used"
	if !canonicalID(string(id)) {
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrNotFound)
	}
	n, err := r.w.PasskeyUsed(ctx, sqlcdb.PasskeyUsedParams{
		Data: data, SignCount: int64(signCount), Now: sql.NullInt64{Int64: micros(now), Valid: true}, ID: string(id),
	})
	return rowsChanged(r, op, n, err)
}

// RenamePasskey renames the user's own passkey.
func (r *repos) RenamePasskey(ctx context.Context, user domain.UserID, id domain.PasskeyID, name string) error {
	const op = "rename passkey"
	if !canonicalID(string(user)) || !canonicalID(string(id)) {
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrNotFound)
	}
	n, err := r.w.RenamePasskey(ctx, sqlcdb.RenamePasskeyParams{Name: name, ID: string(id), UserID: string(user)})
	return rowsChanged(r, op, n, err)
}

// DeletePasskey deletes the user's own passkey.
func (r *repos) DeletePasskey(ctx context.Context, user domain.UserID, id domain.PasskeyID) error {
	const op = "delete passkey"
	if !canonicalID(string(user)) || !canonicalID(string(id)) {
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrNotFound)
	}
	n, err := r.w.DeletePasskey(ctx, sqlcdb.DeletePasskeyParams{ID: string(id), UserID: string(user)})
	return rowsChanged(r, op, n, err)
}

// DeletePasskeys deletes all the user's passkeys.
func (r *repos) DeletePasskeys(ctx context.Context, user domain.UserID) (int, error) {
	if !canonicalID(string(user)) {
		return 0, nil
	}
	n, err := r.w.DeletePasskeys(ctx, string(user))
	if err != nil {
		return 0, r.translate("delete passkeys", err)
	}
	return int(n), nil
}

// CreateCeremony inserts c: no user and a zero MFA token are stored as
// NULL.
func (r *repos) CreateCeremony(ctx context.Context, c domain.Ceremony) error {
	const op = "create ceremony"
	var user sql.NullString
	if c.UserID != "" {
		if !canonicalID(string(c.UserID)) {
			return fmt.Errorf("sqlite: %s: %w", op, domain.ErrNotFound)
		}
		user = sql.NullString{String: string(c.UserID), Valid: true}
	}
	var token []byte
	if c.MFAToken != (domain.MFATokenHash{}) {
		token = c.MFAToken[:]
	}
	err := r.w.CreateCeremony(ctx, sqlcdb.CreateCeremonyParams{
		Hash: c.Hash[:], Kind: string(c.Kind), UserID: user, MfaToken: token, State: c.State, ExpiresAt: micros(c.ExpiresAt),
	})
	if isForeignKeyViolation(err) {
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrNotFound)
	}
	return r.translate(op, err)
}

// UseCeremony deletes the ceremony and returns it, in one DELETE ...
// RETURNING on the writer: of concurrent uses exactly one gets the row.
func (r *repos) UseCeremony(ctx context.Context, hash domain.CeremonyHash) (domain.Ceremony, error) {
	const op = "use ceremony"
	row, err := r.w.UseCeremony(ctx, hash[:])
	if err != nil {
		return domain.Ceremony{}, r.translate(op, err)
	}
	if len(row.Hash) != len(domain.CeremonyHash{}) || (row.MfaToken != nil && len(row.MfaToken) != len(domain.MFATokenHash{})) {
		// The CHECK constraints make this unreachable short of a schema drift.
		return domain.Ceremony{}, fmt.Errorf("sqlite: %s: malformed row", op)
	}
	c := domain.Ceremony{
		Hash:      domain.CeremonyHash(row.Hash),
		Kind:      domain.CeremonyKind(row.Kind),
		UserID:    domain.UserID(row.UserID.String),
		State:     row.State,
		ExpiresAt: fromMicros(row.ExpiresAt),
	}
	if row.MfaToken != nil {
		c.MFAToken = domain.MFATokenHash(row.MfaToken)
	}
	return c, nil
}

func passkeyFromRow(row sqlcdb.Passkey) (domain.Passkey, error) {
	if row.SignCount < 0 || row.SignCount > math.MaxUint32 {
		return domain.Passkey{}, fmt.Errorf("sqlite: passkey %s: sign count %d out of range", row.ID, row.SignCount)
	}
	return domain.Passkey{
		ID:           domain.PasskeyID(row.ID),
		UserID:       domain.UserID(row.UserID),
		CredentialID: row.CredentialID,
		Name:         row.Name,
		Data:         row.Data,
		SignCount:    uint32(row.SignCount),
		CreatedAt:    fromMicros(row.CreatedAt),
		LastUsedAt:   fromNullMicros(row.LastUsedAt),
	}, nil
}

// rowsChanged is the answer of an UPDATE or DELETE of one row by key: no
// row changed is domain.ErrNotFound.
func rowsChanged(r *repos, op string, n int64, err error) error {
	if err != nil {
		return r.translate(op, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrNotFound)
	}
	return nil
}
