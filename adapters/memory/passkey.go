package memory

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

var _ ports.Passkeys = (*Store)(nil)

// AddPasskey stores p unless its credential id is registered.
func (v *view) AddPasskey(_ context.Context, p domain.Passkey) error {
	defer v.lock()()
	if _, ok := v.d.users[p.UserID]; !ok {
		return fmt.Errorf("memory: add passkey: %w", domain.ErrNotFound)
	}
	for _, old := range v.d.passkeys {
		if bytes.Equal(old.CredentialID, p.CredentialID) {
			return fmt.Errorf("memory: add passkey: %w", domain.ErrPasskeyExists)
		}
	}
	p.CredentialID, p.Data = slices.Clone(p.CredentialID), slices.Clone(p.Data)
	p.CreatedAt, p.LastUsedAt = pgTime(p.CreatedAt), pgTime(p.LastUsedAt)
	put(v, v.d.passkeys, p.ID, p)
	return nil
}

// PasskeysOf lists the user's passkeys, oldest first.
func (v *view) PasskeysOf(_ context.Context, user domain.UserID) ([]domain.Passkey, error) {
	defer v.lock()()
	var out []domain.Passkey
	for _, p := range v.d.passkeys {
		if p.UserID == user {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b domain.Passkey) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// PasskeyByCredentialID scans the passkeys.
func (v *view) PasskeyByCredentialID(_ context.Context, id []byte) (domain.Passkey, error) {
	defer v.lock()()
	for _, p := range v.d.passkeys {
		if bytes.Equal(p.CredentialID, id) {
			return p, nil
		}
	}
	return domain.Passkey{}, fmt.Errorf("memory: passkey by credential id: %w", domain.ErrNotFound)
}

// PasskeyUsed records a sign-in.
func (v *view) PasskeyUsed(_ context.Context, id domain.PasskeyID, data []byte, signCount uint32, now time.Time) error {
	defer v.lock()()
	p, ok := v.d.passkeys[id]
	if !ok {
		return fmt.Errorf("memory: passkey used: %w", domain.ErrNotFound)
	}
	p.Data, p.SignCount, p.LastUsedAt = slices.Clone(data), signCount, pgTime(now)
	put(v, v.d.passkeys, id, p)
	return nil
}

// RenamePasskey renames the user's own passkey.
func (v *view) RenamePasskey(_ context.Context, user domain.UserID, id domain.PasskeyID, name string) error {
	defer v.lock()()
	p, ok := v.d.passkeys[id]
	if !ok || p.UserID != user {
		return fmt.Errorf("memory: rename passkey: %w", domain.ErrNotFound)
	}
	p.Name = name
	put(v, v.d.passkeys, id, p)
	return nil
}

// DeletePasskey deletes the user's own passkey.
func (v *view) DeletePasskey(_ context.Context, user domain.UserID, id domain.PasskeyID) error {
	defer v.lock()()
	p, ok := v.d.passkeys[id]
	if !ok || p.UserID != user {
		return fmt.Errorf("memory: delete passkey: %w", domain.ErrNotFound)
	}
	drop(v, v.d.passkeys, id)
	return nil
}

// DeletePasskeys deletes all the user's passkeys.
func (v *view) DeletePasskeys(_ context.Context, user domain.UserID) (int, error) {
	defer v.lock()()
	n := 0
	for id, p := range v.d.passkeys {
		if p.UserID == user {
			drop(v, v.d.passkeys, id)
			n++
		}
	}
	return n, nil
}

// CreateCeremony stores c.
func (v *view) CreateCeremony(_ context.Context, c domain.Ceremony) error {
	defer v.lock()()
	c.State, c.ExpiresAt = slices.Clone(c.State), pgTime(c.ExpiresAt)
	put(v, v.d.ceremonies, c.Hash, c)
	return nil
}

// UseCeremony deletes and returns a ceremony.
func (v *view) UseCeremony(_ context.Context, hash domain.CeremonyHash) (domain.Ceremony, error) {
	defer v.lock()()
	c, ok := v.d.ceremonies[hash]
	if !ok {
		return domain.Ceremony{}, fmt.Errorf("memory: use ceremony: %w", domain.ErrNotFound)
	}
	drop(v, v.d.ceremonies, hash)
	return c, nil
}

// PruneCeremonies deletes up to b.Limit expired ceremonies.
func (s *Store) PruneCeremonies(_ context.Context, now time.Time, b ports.PruneBatch) (ports.PruneResult, error) {
	return pruneWhere(s, "ceremonies", b, s.d.ceremonies, func(c domain.Ceremony) bool { return !now.Before(c.ExpiresAt) })
}
