package httpapi

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/netip"
	"time"

	"github.com/authd/authd/domain"
)

// Observer receives what the HTTP adapter measures. The metrics adapter
// implements it; nil observes nothing. Labels are bounded sets (route
// patterns, methods, statuses, operation and outcome names), never user
// data.
type Observer interface {
	// Request is called once per request, after the response is written.
	// route is the matched pattern ("/v1/users/me"), or "unmatched".
	Request(route, method string, status int, elapsed time.Duration)
	// Outcome is called once per register, login, refresh or logout with
	// "success" or a failure class (see errorTable).
	Outcome(operation, outcome string)
}

// requestInfo is what the handlers learn about a request that the access
// log and the observer report once it is done. One per request; only that
// request's goroutine touches it.
type requestInfo struct {
	id        string
	ip        netip.Addr // the client's address (see clientIP)
	userID    domain.UserID
	operation string // "login", ...: set by the handlers that count outcomes
	outcome   string // set by writeError; "" means success
}

type requestInfoKey struct{}

// info returns the request's requestInfo (a throw-away one outside the
// middleware, e.g. in a handler unit test).
func info(r *http.Request) *requestInfo {
	if ri, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
		return ri
	}
	return &requestInfo{}
}

// maxRequestIDLen bounds an incoming X-Request-ID we are willing to echo
// and log.
const maxRequestIDLen = 64

// saneRequestID accepts the ids proxies and clients commonly send (UUIDs,
// hex, base64url, dotted trace ids): 1 to 64 of [A-Za-z0-9._-]. Anything
// else is replaced, so a header cannot inject text into logs or responses.
func saneRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := range len(id) {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// requestID gives every request an id: the caller's X-Request-ID when it is
// sane, else a fresh random one; it is echoed in the response and logged.
// It also settles the client's address once, for the limiter, the log and
// the sessions' records.
func (a *api) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if !saneRequestID(id) {
			id = rand.Text()
		}
		w.Header().Set("X-Request-ID", id)
		ri := &requestInfo{id: id, ip: clientIP(r, a.trusted)}
		ctx := context.WithValue(r.Context(), requestInfoKey{}, ri)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// countOutcome marks the request as one whose result is counted per
// operation.
func countOutcome(r *http.Request, operation string) { info(r).operation = operation }
