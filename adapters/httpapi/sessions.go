package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/authd/authd/application/sessions"
	"github.com/authd/authd/domain"
)

// The caller's own sessions: /v1/sessions, behind requireBearer.

type sessionDTO struct {
	ID         string `json:"id"`
	CreatedAt  string `json:"created_at"`
	LastUsedAt string `json:"last_used_at"`
	UserAgent  string `json:"user_agent"`
	IP         string `json:"ip"`
	Current    bool   `json:"current"`
}

type sessionListDTO struct {
	Sessions []sessionDTO `json:"sessions"`
}

// listSessions is GET /v1/sessions: the caller's usable sessions.
func (a *api) listSessions(w http.ResponseWriter, r *http.Request) {
	p, ok := principalFrom(r.Context())
	if !ok {
		a.writeError(w, r, domain.ErrInvalidToken)
		return
	}
	views, err := a.uc.Sessions.List(r.Context(), p)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := sessionListDTO{Sessions: make([]sessionDTO, 0, len(views))}
	for _, v := range views {
		out.Sessions = append(out.Sessions, sessionDTO{
			ID: v.ID.String(), CreatedAt: rfc3339(v.CreatedAt), LastUsedAt: rfc3339(v.LastUsedAt),
			UserAgent: v.UserAgent, IP: v.IP, Current: v.Current,
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// revokeSession is DELETE /v1/sessions/{id}: 204, or 404 for a session
// that is not the caller's (never 403: ids must not leak).
func (a *api) revokeSession(w http.ResponseWriter, r *http.Request) {
	p, ok := principalFrom(r.Context())
	if !ok {
		a.writeError(w, r, domain.ErrInvalidToken)
		return
	}
	err := a.uc.Sessions.Revoke(r.Context(), sessions.RevokeInput{
		Principal: p, SessionID: chi.URLParam(r, "id"), Client: clientOf(r),
	})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
