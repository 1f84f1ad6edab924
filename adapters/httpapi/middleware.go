package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/authd/authd/application"
	"github.com/authd/authd/domain"
)

// noStore keeps tokens and account data out of every cache (API.md).
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Pragma", "no-cache")
		next.ServeHTTP(w, r)
	})
}

// deadline gives every request a context that ends after d, so store calls
// and hashing-gate waits give up instead of queueing forever.
func deadline(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

// accessLog records one line per request and reports it to the observer:
// never the body, the query string or the Authorization header, so no
// password or token reaches the logs. It runs inside requestID.
func (a *api) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		elapsed := time.Since(start)
		ri := info(r)
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		attrs := []slog.Attr{
			slog.String("request_id", ri.id),
			slog.String("method", r.Method),
			slog.String("route", route),
			slog.String("ip", ri.ip.String()),
			slog.String("path", r.URL.Path),
			slog.Int("status", ww.Status()),
			slog.Int("bytes", ww.BytesWritten()),
			slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
		}
		if ri.userID != "" {
			attrs = append(attrs, slog.String("user_id", ri.userID.String()))
		}
		a.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
		if a.obs != nil {
			a.obs.Request(route, methodLabel(r.Method), ww.Status(), elapsed)
			if ri.operation != "" {
				outcome := ri.outcome
				if outcome == "" {
					outcome = outcomeSuccess
				}
				a.obs.Outcome(ri.operation, outcome)
			}
		}
	})
}

// methodLabel keeps the method label a closed set: a client can send any
// token as a method.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// recoverer turns a panic into a logged 500 problem instead of a dropped
// connection.
func (a *api) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.log.ErrorContext(r.Context(), "panic", slog.Any("panic", v),
					slog.String("request_id", info(r).id))
				writeProblem(w, r, http.StatusInternalServerError, codeInternal, "internal error")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

type principalKey struct{}

// errNoBearer: the request carried no bearer credentials at all. Logout
// takes it as "identify by the refresh token"; requireBearer answers it 401.
var errNoBearer = errors.New("no bearer token")

// bearerToken extracts an RFC 6750 bearer token; the scheme is case-insensitive.
func bearerToken(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", errNoBearer
	}
	scheme, token, ok := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", domain.ErrInvalidToken
	}
	return token, nil
}

// requireBearer admits only requests with a valid access token: the
// Authorization bearer, or the access cookie with CSRF proof (accessToken).
func (a *api) requireBearer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, err := a.accessToken(r)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		p, err := a.uc.Bearer.Authenticate(r.Context(), token)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		info(r).userID = p.UserID
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

func principalFrom(ctx context.Context) (application.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(application.Principal)
	return p, ok
}
