package httpapi

import (
	"net/http"

	"github.com/authd/authd/application/account"
	"github.com/authd/authd/domain"
)

// The caller's own account: /v1/users/me, behind requireBearer.

func (a *api) me(w http.ResponseWriter, r *http.Request) {
	p, ok := principalFrom(r.Context())
	if !ok {
		a.writeError(w, r, domain.ErrInvalidToken)
		return
	}
	u, err := a.uc.Sessions.CurrentUser(r.Context(), p)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, userEnvelope{User: toUserDTO(u)})
}

type changePasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// changePassword is POST /v1/users/me/password: 204; every other session
// of the account ends.
func (a *api) changePassword(w http.ResponseWriter, r *http.Request) {
	countOutcome(r, "password_change")
	p, ok := principalFrom(r.Context())
	if !ok {
		a.writeError(w, r, domain.ErrInvalidToken)
		return
	}
	var req changePasswordRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	err := a.uc.PasswordChange.Change(r.Context(), account.ChangePasswordInput{
		Principal: p, CurrentPassword: req.CurrentPassword, NewPassword: req.NewPassword, Client: clientOf(r),
	})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
