package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/authd/authd/application"
	"github.com/authd/authd/application/admin"
	"github.com/authd/authd/domain"
)

// errForbidden: authenticated, but the role does not allow it (403).
var errForbidden = errors.New("the admin role is required")

type adminKey struct{}

// requireAdmin admits only administrators. It runs after requireBearer:
// the token's role claim must be admin (cheap, stateless), and so must the
// account's role now, read with the session (so a demotion, a logout or a
// revoked session takes effect at once on these endpoints, not when the
// token expires). A valid token without the role is 403 forbidden; an
// invalid one stayed 401 in requireBearer.
func (a *api) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := principalFrom(r.Context())
		if !ok {
			a.writeError(w, r, domain.ErrInvalidToken)
			return
		}
		if p.Role != domain.RoleAdmin {
			a.writeError(w, r, errForbidden)
			return
		}
		u, err := a.uc.Sessions.CurrentUser(r.Context(), p)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		if u.Role() != domain.RoleAdmin {
			a.writeError(w, r, errForbidden)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), adminKey{}, u)))
	})
}

// actor is the administrator making the request, for the audit log.
func (a *api) actor(r *http.Request) application.Actor {
	u, _ := adminFrom(r.Context())
	return application.Actor{UserID: u.ID(), Client: clientOf(r)}
}

// adminFrom is the administrator making the request (set by requireAdmin).
func adminFrom(ctx context.Context) (domain.User, bool) {
	u, ok := ctx.Value(adminKey{}).(domain.User)
	return u, ok
}

type userPageDTO struct {
	Users      []userDTO `json:"users"`
	NextCursor string    `json:"next_cursor,omitempty"`
}

// listUsers is GET /v1/admin/users?email=&limit=&after=.
func (a *api) listUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := queryInt(q.Get("limit"))
	if err != nil {
		a.writeError(w, r, fieldError("limit", "limit must be a whole number"))
		return
	}
	page, err := a.uc.Admin.ListUsers(r.Context(), admin.ListUsersInput{EmailContains: q.Get("email"), After: q.Get("after"), Limit: limit})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := userPageDTO{Users: make([]userDTO, 0, len(page.Users)), NextCursor: page.Next}
	for _, u := range page.Users {
		out.Users = append(out.Users, toUserDTO(u))
	}
	writeJSON(w, http.StatusOK, out)
}

type setRoleRequest struct {
	Role string `json:"role"`
}

// patchUser is PATCH /v1/admin/users/{id} {"role": "user"|"admin"}: the
// account as it is now. An unknown id is 404.
func (a *api) patchUser(w http.ResponseWriter, r *http.Request) {
	var req setRoleRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	change, err := a.uc.Admin.SetRole(r.Context(), admin.SetRoleInput{UserID: chi.URLParam(r, "id"), Role: req.Role, By: a.actor(r)})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, userEnvelope{User: toUserDTO(change.User)})
}

type revokedDTO struct {
	Revoked int `json:"revoked"`
}

// revokeUserSessions is POST /v1/admin/users/{id}/revoke-sessions: how many
// active sessions ended (0 is fine: idempotent). An unknown id is 404.
func (a *api) revokeUserSessions(w http.ResponseWriter, r *http.Request) {
	n, err := a.uc.Admin.RevokeUserSessionsByID(r.Context(), chi.URLParam(r, "id"), a.actor(r))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, revokedDTO{Revoked: n})
}

type eventDTO struct {
	ID        string `json:"id"`
	At        string `json:"at"`
	Type      string `json:"type"`
	UserID    string `json:"user_id,omitempty"`
	SessionID string `json:"session_id,omitempty"`
	ActorID   string `json:"actor_id,omitempty"`
	IP        string `json:"ip,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
	Detail    string `json:"detail,omitempty"`
}

type eventPageDTO struct {
	Events     []eventDTO `json:"events"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// listEvents is GET /v1/admin/events?limit=&after=&user_id=&type=: the
// audit log, newest first.
func (a *api) listEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := queryInt(q.Get("limit"))
	if err != nil {
		a.writeError(w, r, fieldError("limit", "limit must be a whole number"))
		return
	}
	page, err := a.uc.Admin.ListEvents(r.Context(), admin.ListEventsInput{
		After: q.Get("after"), Limit: limit, UserID: q.Get("user_id"), Type: q.Get("type"),
	})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := eventPageDTO{Events: make([]eventDTO, 0, len(page.Events)), NextCursor: page.Next}
	for _, e := range page.Events {
		out.Events = append(out.Events, eventDTO{
			ID: e.ID.String(), At: e.At.UTC().Format(time.RFC3339Nano), Type: string(e.Type),
			UserID: e.UserID.String(), SessionID: e.SessionID.String(), ActorID: e.ActorID.String(),
			IP: e.Client.IP, UserAgent: e.Client.UserAgent, Detail: e.Detail,
		})
	}
	writeJSON(w, http.StatusOK, out)
}
