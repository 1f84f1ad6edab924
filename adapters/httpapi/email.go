package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/authd/authd/application/account"
	"github.com/authd/authd/application/admin"
	"github.com/authd/authd/domain"
)

// The email flows: verification, password reset, email change. The "mail
// me a link" endpoints answer 202 whatever the address: the answer never
// tells whether an account has it.

type addressRequest struct {
	Email string `json:"email"`
}

type tokenRequest struct {
	Token string `json:"token"`
}

// sendVerification is POST /v1/auth/verify-email/send.
func (a *api) sendVerification(w http.ResponseWriter, r *http.Request) {
	countOutcome(r, "verify_email_send")
	var req addressRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.uc.Verification.Send(r.Context(), account.AddressInput{Email: req.Email, Client: clientOf(r)}); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// verifyEmail is POST /v1/auth/verify-email.
func (a *api) verifyEmail(w http.ResponseWriter, r *http.Request) {
	countOutcome(r, "verify_email")
	var req tokenRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	u, err := a.uc.Verification.Verify(r.Context(), req.Token, clientOf(r))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	info(r).userID = u.ID()
	writeJSON(w, http.StatusOK, userEnvelope{User: toUserDTO(u)})
}

// forgotPassword is POST /v1/auth/password/forgot.
func (a *api) forgotPassword(w http.ResponseWriter, r *http.Request) {
	countOutcome(r, "password_forgot")
	var req addressRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.uc.PasswordReset.Forgot(r.Context(), account.AddressInput{Email: req.Email, Client: clientOf(r)}); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

type resetPasswordRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// resetPassword is POST /v1/auth/password/reset.
func (a *api) resetPassword(w http.ResponseWriter, r *http.Request) {
	countOutcome(r, "password_reset")
	var req resetPasswordRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.uc.PasswordReset.Reset(r.Context(), account.ResetInput{Token: req.Token, Password: req.Password, Client: clientOf(r)}); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type changeEmailRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// changeEmail is POST /v1/users/me/email (bearer).
func (a *api) changeEmail(w http.ResponseWriter, r *http.Request) {
	countOutcome(r, "email_change")
	p, ok := principalFrom(r.Context())
	if !ok {
		a.writeError(w, r, domain.ErrInvalidToken)
		return
	}
	var req changeEmailRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	err := a.uc.EmailChange.Request(r.Context(), account.ChangeEmailInput{Principal: p, Email: req.Email, Password: req.Password, Client: clientOf(r)})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// confirmEmailChange is POST /v1/auth/email-change/confirm.
func (a *api) confirmEmailChange(w http.ResponseWriter, r *http.Request) {
	countOutcome(r, "email_change_confirm")
	var req tokenRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	u, err := a.uc.EmailChange.Confirm(r.Context(), req.Token, clientOf(r))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	info(r).userID = u.ID()
	writeJSON(w, http.StatusOK, userEnvelope{User: toUserDTO(u)})
}

// markEmailVerified is POST /v1/admin/users/{id}/verify-email.
func (a *api) markEmailVerified(w http.ResponseWriter, r *http.Request) {
	u, err := a.uc.Admin.MarkEmailVerified(r.Context(), admin.AccountRef{ID: chi.URLParam(r, "id")}, a.actor(r))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, userEnvelope{User: toUserDTO(u)})
}

// resendVerification is POST /v1/admin/users/{id}/verification-mail.
func (a *api) resendVerification(w http.ResponseWriter, r *http.Request) {
	if err := a.uc.Admin.ResendVerification(r.Context(), admin.AccountRef{ID: chi.URLParam(r, "id")}, a.actor(r)); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
