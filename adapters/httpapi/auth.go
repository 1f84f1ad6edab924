package httpapi

import (
	"crypto/rand"
	"errors"
	"net/http"

	"github.com/authd/authd/application"
	"github.com/authd/authd/application/account"
	"github.com/authd/authd/application/sessions"
	"github.com/authd/authd/application/signin"
)

// The credential endpoints under /v1/auth. Login and refresh answer in
// token or cookie form (writeTokens, cookies.go).

type registerRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name"`
}

func (a *api) register(w http.ResponseWriter, r *http.Request) {
	countOutcome(r, "register")
	var req registerRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	u, err := a.uc.Registration.Register(r.Context(), account.RegisterInput{Email: req.Email, Password: req.Password, Name: req.Name, Client: clientOf(r)})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	info(r).userID = u.ID()
	writeJSON(w, http.StatusCreated, userEnvelope{User: toUserDTO(u)})
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (a *api) login(w http.ResponseWriter, r *http.Request) {
	countOutcome(r, "login")
	var req loginRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	pair, err := a.uc.Login.Login(r.Context(), signin.LoginInput{Email: req.Email, Password: req.Password, Client: clientOf(r)})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	info(r).userID = pair.User.ID()
	a.writeTokens(w, r, pair, false)
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

func (a *api) refresh(w http.ResponseWriter, r *http.Request) {
	countOutcome(r, "refresh")
	var req refreshRequest
	if err := decodeRefreshBody(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	viaCookie, err := a.refreshFromCookie(r, &req.RefreshToken)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	pair, err := a.uc.Sessions.Refresh(r.Context(), sessions.RefreshInput{RefreshToken: req.RefreshToken, Client: clientOf(r)})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	info(r).userID = pair.User.ID()
	a.writeTokens(w, r, pair, viaCookie)
}

// logoutRequest: the refresh token to revoke (optional when a bearer or the
// refresh cookie says who is asking) and how wide: "" or "this" (the
// session), "others" (every other session of the caller) or "global" (all).
type logoutRequest struct {
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

// logout revokes by refresh token (body), by the session of a bearer access
// token (header), or both. A bearer that fails verification is an error only
// when no refresh token was sent: a client logging out with an expired
// access token and a good refresh token must still succeed.
func (a *api) logout(w http.ResponseWriter, r *http.Request) {
	countOutcome(r, "logout")
	var req logoutRequest
	if hasBody(r) {
		if err := decodeJSON(w, r, &req); err != nil {
			a.writeError(w, r, err)
			return
		}
	}
	scope, err := sessions.ParseLogoutScope(req.Scope)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	in := sessions.LogoutInput{RefreshToken: req.RefreshToken, Scope: scope, Client: clientOf(r)}
	token, err := a.logoutCredentials(r, &in)
	if err == nil {
		var p application.Principal
		if p, err = a.uc.Bearer.Authenticate(r.Context(), token); err == nil {
			in.Principal = &p
			info(r).userID = p.UserID
		}
	}
	if err != nil && !errors.Is(err, errNoBearer) && in.RefreshToken == "" {
		a.writeError(w, r, err)
		return
	}
	if err := a.uc.Sessions.Logout(r.Context(), in); err != nil {
		a.writeError(w, r, err)
		return
	}
	a.clearCookiesOnLogout(w, r)
	w.WriteHeader(http.StatusNoContent)
}

type csrfTokenDTO struct {
	CSRFToken string `json:"csrf_token"`
}

// csrfToken (GET /v1/auth/csrf) tells the app its CSRF token: an app on
// another host than authd (app.example.com calling auth.example.com) cannot
// read authd's CSRF cookie, and after a reload it no longer has the token
// from the login answer. Only allowed origins can read the answer (CORS).
// Without a CSRF cookie a fresh token is set as a session cookie; the next
// login replaces it.
func (a *api) csrfToken(w http.ResponseWriter, r *http.Request) {
	token, ok := csrfCookie(r)
	if !ok {
		token = rand.Text()
		http.SetCookie(w, authCookie(csrfCookieName, token, "/", http.SameSiteStrictMode, false, 0))
	}
	writeJSON(w, http.StatusOK, csrfTokenDTO{CSRFToken: token})
}
