// Package webauthn is the relying party's side of passkey ceremonies
// (ports.WebAuthn) over github.com/go-webauthn/webauthn: the options the
// browser is given, the ceremony state the server keeps, and the
// verification of the browser's answers (client data, RP ID hash, flags,
// attestation "none", COSE keys, signatures, counters).
//
// A passkey's Data is the library's webauthn.Credential as JSON; a
// ceremony's state is its webauthn.SessionData as JSON, with an expiry.
package webauthn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	lib "github.com/go-webauthn/webauthn/webauthn"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// DefaultTimeout is how long the browser is told a ceremony may take, and
// how long its state stays valid.
const DefaultTimeout = 5 * time.Minute

// Config describes the relying party.
type Config struct {
	// RPID is the relying party's id: a host name (no scheme, port or
	// path), the origins' host or a parent domain of it.
	RPID string
	// RPDisplayName is shown by the browser (default: the RP ID).
	RPDisplayName string
	// Origins are the web origins allowed to run ceremonies: absolute
	// https URLs (http only for localhost), without path.
	Origins []string
	// Timeout bounds a ceremony (default DefaultTimeout).
	Timeout time.Duration
}

// RP is a WebAuthn relying party; it implements ports.WebAuthn and is safe
// for concurrent use.
type RP struct {
	lib *lib.WebAuthn
}

var _ ports.WebAuthn = (*RP)(nil)

// New validates cfg and builds the relying party.
func New(cfg Config) (*RP, error) {
	rpID := strings.ToLower(strings.TrimSpace(cfg.RPID))
	if rpID == "" {
		return nil, errors.New("webauthn: the RP ID is required")
	}
	if strings.ContainsAny(rpID, ":/?#@[] ") {
		return nil, fmt.Errorf("webauthn: RP ID %q: a host name without scheme, port or path", cfg.RPID)
	}
	if err := protocol.ValidateRPID(rpID); err != nil {
		return nil, fmt.Errorf("webauthn: RP ID %q: %w", cfg.RPID, err)
	}
	if len(cfg.Origins) == 0 {
		return nil, errors.New("webauthn: at least one origin is required")
	}
	origins := make([]string, 0, len(cfg.Origins))
	for _, o := range cfg.Origins {
		origin, err := parseOrigin(o, rpID)
		if err != nil {
			return nil, err
		}
		origins = append(origins, origin)
	}
	timeout := cfg.Timeout
	switch {
	case timeout == 0:
		timeout = DefaultTimeout
	case timeout < time.Second:
		return nil, fmt.Errorf("webauthn: timeout %v is too short", timeout)
	}
	name := strings.TrimSpace(cfg.RPDisplayName)
	if name == "" {
		name = rpID
	}
	limit := lib.TimeoutConfig{Enforce: true, Timeout: timeout, TimeoutUVD: timeout}
	w, err := lib.New(&lib.Config{
		RPID:                  rpID,
		RPDisplayName:         name,
		RPOrigins:             origins,
		AttestationPreference: protocol.PreferNoAttestation,
		Timeouts:              lib.TimeoutsConfig{Login: limit, Registration: limit},
	})
	if err != nil {
		return nil, fmt.Errorf("webauthn: %w", err)
	}
	return &RP{lib: w}, nil
}

// parseOrigin checks an origin (scheme://host[:port]) and that rpID is its
// host or a parent domain of it, and returns it in canonical form.
func parseOrigin(raw, rpID string) (string, error) {
	s := strings.TrimSuffix(strings.TrimSpace(raw), "/")
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("webauthn: origin %q: %w", raw, err)
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return "", fmt.Errorf("webauthn: origin %q: an absolute http(s) URL is required", raw)
	case host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return "", fmt.Errorf("webauthn: origin %q: scheme://host[:port] only", raw)
	case u.Scheme == "http" && host != "localhost" && !strings.HasSuffix(host, ".localhost"):
		return "", fmt.Errorf("webauthn: origin %q: https is required (http only for localhost)", raw)
	case host != rpID && !strings.HasSuffix(host, "."+rpID):
		return "", fmt.Errorf("webauthn: origin %q is not within the RP ID %q", raw, rpID)
	}
	return u.Scheme + "://" + strings.ToLower(u.Host), nil
}

// user is a domain user with their credentials, as the library sees it.
type user struct {
	u     domain.User
	creds []lib.Credential
}

func (w user) WebAuthnID() []byte   { return []byte(w.u.ID()) }
func (w user) WebAuthnName() string { return w.u.Email().String() }
func (w user) WebAuthnDisplayName() string {
	if n := strings.TrimSpace(w.u.Name()); n != "" {
		return n
	}
	return w.u.Email().String()
}
func (w user) WebAuthnCredentials() []lib.Credential { return w.creds }

// credentials decodes the passkeys' records. The store's counter is the
// one that counts (it moves with the record), and a clone warning is only
// ever about the assertion being verified, never a stored one.
func credentials(passkeys []domain.Passkey) ([]lib.Credential, error) {
	creds := make([]lib.Credential, 0, len(passkeys))
	for _, p := range passkeys {
		var c lib.Credential
		if err := json.Unmarshal(p.Data, &c); err != nil {
			return nil, fmt.Errorf("webauthn: passkey %s: stored record: %w", p.ID, err)
		}
		if !bytes.Equal(c.ID, p.CredentialID) || len(c.PublicKey) == 0 {
			return nil, fmt.Errorf("webauthn: passkey %s: stored record does not match its credential id", p.ID)
		}
		c.Authenticator.SignCount = p.SignCount
		c.Authenticator.CloneWarning = false
		creds = append(creds, c)
	}
	return creds, nil
}

// BeginRegistration implements ports.WebAuthn: a discoverable credential
// (resident key required), user verification required, no attestation,
// excluding the user's existing credentials.
func (rp *RP) BeginRegistration(u domain.User, existing []domain.Passkey) (options, state []byte, err error) {
	creds, err := credentials(existing)
	if err != nil {
		return nil, nil, err
	}
	creation, session, err := rp.lib.BeginRegistration(user{u, creds},
		lib.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			RequireResidentKey: protocol.ResidentKeyRequired(),
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			UserVerification:   protocol.VerificationRequired,
		}),
		lib.WithExclusions(lib.Credentials(creds).CredentialDescriptors()),
		lib.WithConveyancePreference(protocol.PreferNoAttestation),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("webauthn: begin registration: %w", err)
	}
	return marshalCeremony(creation, session)
}

// FinishRegistration implements ports.WebAuthn. A credential the user has
// registered already is domain.ErrPasskeyExists.
func (rp *RP) FinishRegistration(u domain.User, existing []domain.Passkey, state, response []byte) (domain.Passkey, error) {
	session, err := unmarshalSession(state)
	if err != nil {
		return domain.Passkey{}, err
	}
	creds, err := credentials(existing)
	if err != nil {
		return domain.Passkey{}, err
	}
	if len(session.CredParams) == 0 {
		return domain.Passkey{}, fmt.Errorf("webauthn: registration: %w: the state is not a registration's", domain.ErrPasskeyRejected)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return domain.Passkey{}, rejected("registration", err)
	}
	cred, err := rp.lib.CreateCredential(user{u, creds}, session, parsed)
	if err != nil {
		return domain.Passkey{}, rejected("registration", err)
	}
	for _, c := range creds {
		if bytes.Equal(c.ID, cred.ID) {
			return domain.Passkey{}, fmt.Errorf("webauthn: registration: %w", domain.ErrPasskeyExists)
		}
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return domain.Passkey{}, fmt.Errorf("webauthn: registration: %w", err)
	}
	return domain.Passkey{CredentialID: cred.ID, Data: data, SignCount: cred.Authenticator.SignCount}, nil
}

// BeginLogin implements ports.WebAuthn: usernameless (any discoverable
// credential, user verification required) when u is nil, else for u's
// passkeys (user verification preferred: a second factor).
func (rp *RP) BeginLogin(u *domain.User, passkeys []domain.Passkey) (options, state []byte, err error) {
	var (
		assertion *protocol.CredentialAssertion
		session   *lib.SessionData
	)
	if u == nil {
		assertion, session, err = rp.lib.BeginDiscoverableLogin(lib.WithUserVerification(protocol.VerificationRequired))
	} else {
		creds, cerr := credentials(passkeys)
		if cerr != nil {
			return nil, nil, cerr
		}
		if len(creds) == 0 {
			return nil, nil, errors.New("webauthn: begin login: the user has no passkey")
		}
		assertion, session, err = rp.lib.BeginLogin(user{*u, creds}, lib.WithUserVerification(protocol.VerificationPreferred))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("webauthn: begin login: %w", err)
	}
	return marshalCeremony(assertion, session)
}

// FinishLogin implements ports.WebAuthn. Errors from lookup come back
// wrapped as they are (an unknown user, domain.ErrNotFound, is also
// domain.ErrPasskeyRejected); every verification failure is
// domain.ErrPasskeyRejected.
func (rp *RP) FinishLogin(state, response []byte, lookup func(userHandle []byte) (domain.User, []domain.Passkey, error)) (ports.PasskeyAssertion, error) {
	session, err := unmarshalSession(state)
	if err != nil {
		return ports.PasskeyAssertion{}, err
	}
	// A registration's state has credential parameters; a second
	// factor's, its allowed credentials.
	if len(session.CredParams) != 0 || (len(session.UserID) != 0 && len(session.AllowedCredentialIDs) == 0) {
		return ports.PasskeyAssertion{}, fmt.Errorf("webauthn: login: %w: the state is not a login's", domain.ErrPasskeyRejected)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return ports.PasskeyAssertion{}, rejected("login", err)
	}
	var (
		found     user
		passkeys  []domain.Passkey
		lookupErr error
	)
	find := func(handle []byte) (user, error) {
		u, list, err := lookup(handle)
		if err == nil {
			var creds []lib.Credential
			if creds, err = credentials(list); err == nil {
				found, passkeys = user{u, creds}, list
				return found, nil
			}
		}
		lookupErr = err
		return user{}, err
	}
	var cred *lib.Credential
	if len(session.UserID) == 0 {
		_, cred, err = rp.lib.ValidatePasskeyLogin(func(_, handle []byte) (lib.User, error) { return find(handle) }, session, parsed)
	} else {
		var w user
		if w, err = find(nil); err == nil {
			cred, err = rp.lib.ValidateLogin(w, session, parsed)
		}
	}
	switch {
	case lookupErr != nil && errors.Is(lookupErr, domain.ErrNotFound):
		return ports.PasskeyAssertion{}, fmt.Errorf("webauthn: login: %w: no account for the user handle: %w", domain.ErrPasskeyRejected, lookupErr)
	case lookupErr != nil:
		return ports.PasskeyAssertion{}, fmt.Errorf("webauthn: login: find the account: %w", lookupErr)
	case err != nil:
		return ports.PasskeyAssertion{}, rejected("login", err)
	}
	for _, p := range passkeys {
		if !bytes.Equal(p.CredentialID, cred.ID) {
			continue
		}
		warning := cred.Authenticator.CloneWarning
		cred.Authenticator.CloneWarning = false
		if p.Data, err = json.Marshal(cred); err != nil {
			return ports.PasskeyAssertion{}, fmt.Errorf("webauthn: login: %w", err)
		}
		p.SignCount = cred.Authenticator.SignCount
		return ports.PasskeyAssertion{
			User:    found.u,
			Passkey: p,
			// This assertion's flag: the credential record's UserVerified
			// is sticky (the library keeps it once set), so it cannot
			// tell whether this sign-in verified the user.
			UserVerified: parsed.Response.AuthenticatorData.Flags.HasUserVerified(),
			CloneWarning: warning,
		}, nil
	}
	return ports.PasskeyAssertion{}, fmt.Errorf("webauthn: login: %w: unknown credential", domain.ErrPasskeyRejected)
}

func marshalCeremony(options any, session *lib.SessionData) ([]byte, []byte, error) {
	o, err := json.Marshal(options)
	if err != nil {
		return nil, nil, fmt.Errorf("webauthn: options: %w", err)
	}
	s, err := json.Marshal(session)
	if err != nil {
		return nil, nil, fmt.Errorf("webauthn: state: %w", err)
	}
	return o, s, nil
}

// unmarshalSession decodes a ceremony's state; one past its expiry (or
// without one) is domain.ErrPasskeyRejected. The library checks the
// expiry too, but skips a zero one.
func unmarshalSession(state []byte) (lib.SessionData, error) {
	var s lib.SessionData
	if err := json.Unmarshal(state, &s); err != nil {
		return lib.SessionData{}, fmt.Errorf("webauthn: ceremony state is not readable: %w", err)
	}
	if s.Challenge == "" {
		return lib.SessionData{}, errors.New("webauthn: ceremony state has no challenge")
	}
	if !time.Now().Before(s.Expires) {
		return lib.SessionData{}, fmt.Errorf("webauthn: %w: the ceremony expired", domain.ErrPasskeyRejected)
	}
	return s, nil
}

// rejected wraps a verification failure as domain.ErrPasskeyRejected,
// keeping the library's reason (and its developer detail, but not the
// challenges it compared) for the logs.
func rejected(ceremony string, err error) error {
	reason := err.Error()
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.DevInfo != "" && !strings.Contains(pe.Details, "challenge") {
		reason += " (" + strings.Join(strings.Fields(pe.DevInfo), " ") + ")"
	}
	return fmt.Errorf("webauthn: %s: %w: %s", ceremony, domain.ErrPasskeyRejected, reason)
}
