package account

import (
	"context"
	"fmt"
	"strconv"

	"github.com/authd/authd/application"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// Passkeys is a user's own management of passkeys: register (a WebAuthn
// ceremony begun and finished on the server), list, rename, delete.
// Registering needs a recent sign-in (domain.ReauthWindow); each change is
// audited and mailed to the owner.
type Passkeys struct {
	tx       ports.Transactor
	passkeys ports.Passkeys
	sessions LiveSessions
	rp       ports.WebAuthn
	ids      ports.IDGenerator
	random   ports.RandomSource
	letters  *application.Letters
	clock    ports.Clock
	audit    *application.Recorder
}

// PasskeyDeps are what Passkeys needs.
type PasskeyDeps struct {
	Tx       ports.Transactor
	Passkeys ports.Passkeys
	Sessions LiveSessions
	RP       ports.WebAuthn
	IDs      ports.IDGenerator
	Random   ports.RandomSource
	Letters  *application.Letters
	Clock    ports.Clock
	Audit    *application.Recorder
}

// NewPasskeys builds the passkey management use case.
func NewPasskeys(d PasskeyDeps) *Passkeys {
	return &Passkeys{tx: d.Tx, passkeys: d.Passkeys, sessions: d.Sessions, rp: d.RP, ids: d.IDs, random: d.Random,
		letters: d.Letters, clock: d.Clock, audit: d.Audit}
}

// BeginRegistration starts registering a passkey for the caller.
func (k *Passkeys) BeginRegistration(ctx context.Context, p application.Principal) (application.Ceremony, error) {
	session, u, err := k.sessions.Live(ctx, p)
	if err != nil {
		return application.Ceremony{}, fmt.Errorf("begin passkey registration: %w", err)
	}
	now := k.clock.Now()
	if now.Sub(session.AuthTime()) > domain.ReauthWindow {
		return application.Ceremony{}, fmt.Errorf("begin passkey registration: %w", domain.ErrReauthRequired)
	}
	existing, err := k.passkeys.PasskeysOf(ctx, u.ID())
	if err != nil {
		return application.Ceremony{}, fmt.Errorf("begin passkey registration: %w", err)
	}
	options, state, err := k.rp.BeginRegistration(u, existing)
	if err != nil {
		return application.Ceremony{}, fmt.Errorf("begin passkey registration: %w", err)
	}
	token, hash, err := domain.NewCeremonyToken(k.random)
	if err != nil {
		return application.Ceremony{}, err
	}
	err = k.passkeys.CreateCeremony(ctx, domain.Ceremony{Hash: hash, Kind: domain.CeremonyRegister, UserID: u.ID(), State: state, ExpiresAt: now.Add(domain.CeremonyTTL)})
	if err != nil {
		return application.Ceremony{}, fmt.Errorf("begin passkey registration: %w", err)
	}
	return application.Ceremony{Token: token, Options: options}, nil
}

// FinishRegistrationInput is the browser's answer to a registration.
type FinishRegistrationInput struct {
	Principal  application.Principal
	Ceremony   string
	Credential []byte
	Name       string
	Client     domain.ClientInfo
}

// FinishRegistration verifies the answer and stores the passkey. The
// ceremony is spent whatever the outcome; one begun by another user, for
// another purpose or expired is domain.ErrInvalidCeremony; an answer that
// does not verify domain.ErrPasskeyRejected.
func (k *Passkeys) FinishRegistration(ctx context.Context, in FinishRegistrationInput) (domain.Passkey, error) {
	name, err := domain.ValidatePasskeyName(in.Name)
	if err != nil {
		return domain.Passkey{}, fmt.Errorf("finish passkey registration: %w", err)
	}
	_, u, err := k.sessions.Live(ctx, in.Principal)
	if err != nil {
		return domain.Passkey{}, fmt.Errorf("finish passkey registration: %w", err)
	}
	c, err := application.UseCeremony(ctx, k.passkeys, in.Ceremony, k.clock.Now(), domain.CeremonyRegister)
	if err != nil || c.UserID != u.ID() {
		return domain.Passkey{}, fmt.Errorf("finish passkey registration: %w", domain.ErrInvalidCeremony)
	}
	existing, err := k.passkeys.PasskeysOf(ctx, u.ID())
	if err != nil {
		return domain.Passkey{}, fmt.Errorf("finish passkey registration: %w", err)
	}
	pk, err := k.rp.FinishRegistration(u, existing, c.State, in.Credential)
	if err != nil {
		return domain.Passkey{}, fmt.Errorf("finish passkey registration: %w", err)
	}
	if name == "" {
		name = "Passkey " + strconv.Itoa(len(existing)+1)
	}
	pk.ID, pk.UserID, pk.Name, pk.CreatedAt = k.ids.NewPasskeyID(), u.ID(), name, k.clock.Now()
	client := in.Client.Clean()
	err = k.tx.WithinTx(ctx, func(st ports.Stores) error {
		if err := st.Passkeys.AddPasskey(ctx, pk); err != nil {
			return err
		}
		if k.letters != nil {
			if err := k.letters.Notice(ctx, st, u.Email(), domain.MailFactorAdded, "passkey"); err != nil {
				return err
			}
		}
		return k.audit.InTx(ctx, st, domain.AuditEvent{Type: domain.EventPasskeyAdded, UserID: u.ID(), SessionID: in.Principal.SessionID, Client: client, Detail: "passkey"})
	})
	if err != nil {
		return domain.Passkey{}, fmt.Errorf("finish passkey registration: %w", err)
	}
	k.letters.Posted()
	return pk, nil
}

// List returns the caller's passkeys.
func (k *Passkeys) List(ctx context.Context, p application.Principal) ([]domain.Passkey, error) {
	_, u, err := k.sessions.Live(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("list passkeys: %w", err)
	}
	return k.passkeys.PasskeysOf(ctx, u.ID())
}

// Rename names one of the caller's passkeys; another's id is
// domain.ErrNotFound.
func (k *Passkeys) Rename(ctx context.Context, p application.Principal, id, name string) (domain.Passkey, error) {
	name, err := domain.ValidatePasskeyName(name)
	if err != nil {
		return domain.Passkey{}, fmt.Errorf("rename passkey: %w", err)
	}
	if name == "" {
		v := &domain.ValidationError{}
		v.Add("name", domain.CodeRequired, "name is required")
		return domain.Passkey{}, fmt.Errorf("rename passkey: %w", v)
	}
	_, u, err := k.sessions.Live(ctx, p)
	if err != nil {
		return domain.Passkey{}, fmt.Errorf("rename passkey: %w", err)
	}
	pid, err := domain.ParsePasskeyID(id)
	if err != nil {
		return domain.Passkey{}, fmt.Errorf("rename passkey: %w", err)
	}
	if err := k.passkeys.RenamePasskey(ctx, u.ID(), pid, name); err != nil {
		return domain.Passkey{}, fmt.Errorf("rename passkey: %w", err)
	}
	list, err := k.passkeys.PasskeysOf(ctx, u.ID())
	if err != nil {
		return domain.Passkey{}, fmt.Errorf("rename passkey: %w", err)
	}
	for _, pk := range list {
		if pk.ID == pid {
			return pk, nil
		}
	}
	return domain.Passkey{}, fmt.Errorf("rename passkey: %w", domain.ErrNotFound)
}

// Delete removes one of the caller's passkeys; another's id is
// domain.ErrNotFound.
func (k *Passkeys) Delete(ctx context.Context, p application.Principal, id string, client domain.ClientInfo) error {
	_, u, err := k.sessions.Live(ctx, p)
	if err != nil {
		return fmt.Errorf("delete passkey: %w", err)
	}
	pid, err := domain.ParsePasskeyID(id)
	if err != nil {
		return fmt.Errorf("delete passkey: %w", err)
	}
	err = k.tx.WithinTx(ctx, func(st ports.Stores) error {
		if err := st.Passkeys.DeletePasskey(ctx, u.ID(), pid); err != nil {
			return err
		}
		if k.letters != nil {
			if err := k.letters.Notice(ctx, st, u.Email(), domain.MailFactorRemoved, "passkey"); err != nil {
				return err
			}
		}
		return k.audit.InTx(ctx, st, domain.AuditEvent{Type: domain.EventPasskeyRemoved, UserID: u.ID(), SessionID: p.SessionID, Client: client.Clean(), Detail: "passkey"})
	})
	if err != nil {
		return fmt.Errorf("delete passkey: %w", err)
	}
	k.letters.Posted()
	return nil
}
