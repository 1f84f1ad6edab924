package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/authd/authd/application/account"
	"github.com/authd/authd/application/admin"
	"github.com/authd/authd/application/signin"
	"github.com/authd/authd/domain"
)

// Multi-factor sign-in: the second step of a login, and the owner's
// management of TOTP and recovery codes.

type mfaVerifyRequest struct {
	MFAToken     string `json:"mfa_token"`
	Code         string `json:"code"`
	RecoveryCode string `json:"recovery_code"`
}

// verifyMFA is POST /v1/auth/mfa/verify: the challenge of a login answered
// with a code; the tokens come as a login's do (JSON, or cookies in
// browser mode).
func (a *api) verifyMFA(w http.ResponseWriter, r *http.Request) {
	countOutcome(r, "mfa_verify")
	var req mfaVerifyRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	pair, err := a.uc.SecondFactor.Verify(r.Context(), signin.VerifyInput{
		Token: req.MFAToken, Code: req.Code, RecoveryCode: req.RecoveryCode, Client: clientOf(r),
	})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	info(r).userID = pair.User.ID()
	a.writeTokens(w, r, pair, false)
}

type mfaStateDTO struct {
	TOTP              string `json:"totp"`
	RecoveryCodesLeft int    `json:"recovery_codes_left"`
	MFAEnabled        bool   `json:"mfa_enabled"`
}

// mfaState is GET /v1/users/me/mfa.
func (a *api) mfaState(w http.ResponseWriter, r *http.Request) {
	p, ok := principalFrom(r.Context())
	if !ok {
		a.writeError(w, r, domain.ErrInvalidToken)
		return
	}
	st, err := a.uc.TOTP.State(r.Context(), p)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, mfaStateDTO{TOTP: st.TOTP, RecoveryCodesLeft: st.RecoveryCodesLeft, MFAEnabled: st.Enabled})
}

type factorRequest struct {
	Password string `json:"password"`
	Code     string `json:"code"`
}

// factorInput decodes a factor change of the caller; ok false when an
// answer was written.
func (a *api) factorInput(w http.ResponseWriter, r *http.Request, operation string) (account.FactorInput, bool) {
	countOutcome(r, operation)
	p, ok := principalFrom(r.Context())
	if !ok {
		a.writeError(w, r, domain.ErrInvalidToken)
		return account.FactorInput{}, false
	}
	var req factorRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return account.FactorInput{}, false
	}
	return account.FactorInput{Principal: p, Password: req.Password, Code: req.Code, Client: clientOf(r)}, true
}

type enrolmentDTO struct {
	Secret     string `json:"secret"`
	OTPAuthURI string `json:"otpauth_uri"`
}

// enrolTOTP is POST /v1/users/me/mfa/totp.
func (a *api) enrolTOTP(w http.ResponseWriter, r *http.Request) {
	in, ok := a.factorInput(w, r, "mfa_enrol")
	if !ok {
		return
	}
	e, err := a.uc.TOTP.Enrol(r.Context(), in)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, enrolmentDTO{Secret: e.Secret, OTPAuthURI: e.URI})
}

type recoveryCodesDTO struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

// confirmTOTP is POST /v1/users/me/mfa/totp/confirm.
func (a *api) confirmTOTP(w http.ResponseWriter, r *http.Request) {
	in, ok := a.factorInput(w, r, "mfa_confirm")
	if !ok {
		return
	}
	codes, err := a.uc.TOTP.Confirm(r.Context(), in)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, recoveryCodesDTO{RecoveryCodes: codes})
}

// disableTOTP is POST /v1/users/me/mfa/totp/disable.
func (a *api) disableTOTP(w http.ResponseWriter, r *http.Request) {
	in, ok := a.factorInput(w, r, "mfa_disable")
	if !ok {
		return
	}
	if err := a.uc.TOTP.Disable(r.Context(), in); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// newRecoveryCodes is POST /v1/users/me/mfa/recovery-codes.
func (a *api) newRecoveryCodes(w http.ResponseWriter, r *http.Request) {
	in, ok := a.factorInput(w, r, "mfa_recovery_codes")
	if !ok {
		return
	}
	codes, err := a.uc.TOTP.NewRecoveryCodes(r.Context(), in)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, recoveryCodesDTO{RecoveryCodes: codes})
}

type removedFactorsDTO struct {
	User          userDTO `json:"user"`
	TOTP          bool    `json:"totp"`
	RecoveryCodes int     `json:"recovery_codes"`
	Passkeys      int     `json:"passkeys"`
}

// removeFactors is POST /v1/admin/users/{id}/remove-factors.
func (a *api) removeFactors(w http.ResponseWriter, r *http.Request) {
	out, err := a.uc.Admin.RemoveFactors(r.Context(), admin.AccountRef{ID: chi.URLParam(r, "id")}, a.actor(r))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, removedFactorsDTO{User: toUserDTO(out.User), TOTP: out.TOTP, RecoveryCodes: out.RecoveryCodes, Passkeys: out.Others})
}
