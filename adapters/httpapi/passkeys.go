package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/authd/authd/application/account"
	"github.com/authd/authd/application/signin"
	"github.com/authd/authd/domain"
)

// Passkeys: the owner's management (register, list, rename, delete) and
// sign-in (usernameless, or as a login's second factor). A ceremony's
// options are the browser's JSON, passed through as the WebAuthn adapter
// made them.

type ceremonyDTO struct {
	Ceremony string          `json:"ceremony"`
	Options  json.RawMessage `json:"options"`
}

type passkeyDTO struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	CreatedAt  string  `json:"created_at"`
	LastUsedAt *string `json:"last_used_at"`
}

func toPasskeyDTO(p domain.Passkey) passkeyDTO {
	d := passkeyDTO{ID: p.ID.String(), Name: p.Name, CreatedAt: rfc3339(p.CreatedAt)}
	if !p.LastUsedAt.IsZero() {
		s := rfc3339(p.LastUsedAt)
		d.LastUsedAt = &s
	}
	return d
}

type passkeyEnvelope struct {
	Passkey passkeyDTO `json:"passkey"`
}

// beginPasskeyRegistration is POST /v1/users/me/passkeys/register/begin.
func (a *api) beginPasskeyRegistration(w http.ResponseWriter, r *http.Request) {
	countOutcome(r, "passkey_register")
	p, ok := principalFrom(r.Context())
	if !ok {
		a.writeError(w, r, domain.ErrInvalidToken)
		return
	}
	if hasBody(r) {
		var ignored struct{}
		if err := decodeJSON(w, r, &ignored); err != nil {
			a.writeError(w, r, err)
			return
		}
	}
	c, err := a.uc.Passkeys.BeginRegistration(r.Context(), p)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ceremonyDTO{Ceremony: c.Token, Options: c.Options})
}

type finishPasskeyRequest struct {
	Ceremony   string          `json:"ceremony"`
	Credential json.RawMessage `json:"credential"`
	Name       string          `json:"name"`
}

// finishPasskeyRegistration is POST /v1/users/me/passkeys/register/finish.
func (a *api) finishPasskeyRegistration(w http.ResponseWriter, r *http.Request) {
	countOutcome(r, "passkey_register")
	p, ok := principalFrom(r.Context())
	if !ok {
		a.writeError(w, r, domain.ErrInvalidToken)
		return
	}
	var req finishPasskeyRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	pk, err := a.uc.Passkeys.FinishRegistration(r.Context(), account.FinishRegistrationInput{
		Principal: p, Ceremony: req.Ceremony, Credential: req.Credential, Name: req.Name, Client: clientOf(r),
	})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, passkeyEnvelope{Passkey: toPasskeyDTO(pk)})
}

type passkeyListDTO struct {
	Passkeys []passkeyDTO `json:"passkeys"`
}

// listPasskeys is GET /v1/users/me/passkeys.
func (a *api) listPasskeys(w http.ResponseWriter, r *http.Request) {
	p, ok := principalFrom(r.Context())
	if !ok {
		a.writeError(w, r, domain.ErrInvalidToken)
		return
	}
	list, err := a.uc.Passkeys.List(r.Context(), p)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := passkeyListDTO{Passkeys: make([]passkeyDTO, 0, len(list))}
	for _, pk := range list {
		out.Passkeys = append(out.Passkeys, toPasskeyDTO(pk))
	}
	writeJSON(w, http.StatusOK, out)
}

type renamePasskeyRequest struct {
	Name string `json:"name"`
}

// renamePasskey is PATCH /v1/users/me/passkeys/{id}.
func (a *api) renamePasskey(w http.ResponseWriter, r *http.Request) {
	p, ok := principalFrom(r.Context())
	if !ok {
		a.writeError(w, r, domain.ErrInvalidToken)
		return
	}
	var req renamePasskeyRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	pk, err := a.uc.Passkeys.Rename(r.Context(), p, chi.URLParam(r, "id"), req.Name)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, passkeyEnvelope{Passkey: toPasskeyDTO(pk)})
}

// deletePasskey is DELETE /v1/users/me/passkeys/{id}.
func (a *api) deletePasskey(w http.ResponseWriter, r *http.Request) {
	p, ok := principalFrom(r.Context())
	if !ok {
		a.writeError(w, r, domain.ErrInvalidToken)
		return
	}
	if err := a.uc.Passkeys.Delete(r.Context(), p, chi.URLParam(r, "id"), clientOf(r)); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type beginPasskeyRequest struct {
	MFAToken string `json:"mfa_token"`
}

// beginPasskeySignIn is POST /v1/auth/passkey/begin: {} for usernameless
// sign-in, {"mfa_token"} to answer a login's challenge.
func (a *api) beginPasskeySignIn(w http.ResponseWriter, r *http.Request) {
	countOutcome(r, "passkey_login")
	var req beginPasskeyRequest
	if hasBody(r) {
		if err := decodeJSON(w, r, &req); err != nil {
			a.writeError(w, r, err)
			return
		}
	}
	c, err := a.uc.PasskeySignIn.Begin(r.Context(), req.MFAToken)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ceremonyDTO{Ceremony: c.Token, Options: c.Options})
}

// finishPasskeySignIn is POST /v1/auth/passkey/finish: the tokens come as
// a login's do.
func (a *api) finishPasskeySignIn(w http.ResponseWriter, r *http.Request) {
	countOutcome(r, "passkey_login")
	var req finishPasskeyRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	pair, err := a.uc.PasskeySignIn.Finish(r.Context(), signin.FinishInput{Ceremony: req.Ceremony, Credential: req.Credential, Client: clientOf(r)})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	info(r).userID = pair.User.ID()
	a.writeTokens(w, r, pair, false)
}
