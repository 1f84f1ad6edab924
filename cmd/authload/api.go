package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// password is every load account's password: a passphrase well inside
// authd's policy (8 to 1024 bytes), hashed like any real one.
const password = "authload correct horse battery staple"

// maxKeptBody bounds a response body read into memory (token pairs and
// problem documents are far smaller).
const maxKeptBody = 1 << 20

// api sends authd's requests. It drains and closes every response body and
// keeps a body only when asked, to read tokens or a problem code; it never
// prints either.
type api struct {
	base   string
	client *http.Client
}

// response is what one request came back with: a status, or a transport
// error (err set, status 0).
type response struct {
	status     int
	retryAfter bool   // a 503 that carried Retry-After
	body       []byte // only when asked for
	err        error
}

// tokenPair is the part of authd's TokenPair a worker needs.
type tokenPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// String keeps tokens out of any accidental print.
func (tokenPair) String() string { return "tokenPair{redacted}" }

type credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

func (a *api) register(ctx context.Context, email string, keep bool) response {
	return a.send(ctx, http.MethodPost, "/v1/auth/register", credentials{email, password}, "", keep)
}

func (a *api) login(ctx context.Context, email string, keep bool) response {
	return a.send(ctx, http.MethodPost, "/v1/auth/login", credentials{email, password}, "", keep)
}

func (a *api) refresh(ctx context.Context, token string) response {
	return a.send(ctx, http.MethodPost, "/v1/auth/refresh", refreshRequest{token}, "", true)
}

func (a *api) me(ctx context.Context, access string) response {
	return a.send(ctx, http.MethodGet, "/v1/users/me", nil, access, false)
}

func (a *api) get(ctx context.Context, path string) response {
	return a.send(ctx, http.MethodGet, path, nil, "", false)
}

// send performs one request; payload, when not nil, is sent as JSON.
func (a *api) send(ctx context.Context, method, path string, payload any, bearer string, keep bool) response {
	var body io.Reader
	if payload != nil {
		b, err := json.Marshal(payload)
		if err != nil {
			return response{err: err}
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return response{err: err}
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := a.client.Do(req)
	if err != nil {
		return response{err: err}
	}
	defer res.Body.Close()
	r := response{
		status:     res.StatusCode,
		retryAfter: res.StatusCode == http.StatusServiceUnavailable && res.Header.Get("Retry-After") != "",
	}
	if keep {
		r.body, err = io.ReadAll(io.LimitReader(res.Body, maxKeptBody))
	}
	if err == nil {
		_, err = io.Copy(io.Discard, res.Body) // a fully read body lets the connection be reused
	}
	if err != nil {
		return response{err: err}
	}
	return r
}

// tokens decodes a 200 login or refresh body.
func (r response) tokens() (tokenPair, error) {
	var p tokenPair
	if err := json.Unmarshal(r.body, &p); err != nil || p.AccessToken == "" || p.RefreshToken == "" {
		return tokenPair{}, fmt.Errorf("status %d without a token pair", r.status)
	}
	return p, nil
}

// expect returns nil if r has status want, else an error naming the status
// and the problem code of the body (never the body itself: it may hold tokens).
func (r response) expect(want int) error {
	if r.err != nil {
		return r.err
	}
	if r.status == want {
		return nil
	}
	var problem struct {
		Code string `json:"code"`
	}
	code := "none"
	if json.Unmarshal(r.body, &problem) == nil && problem.Code != "" {
		code = problem.Code
	}
	return fmt.Errorf("status %d, want %d (problem code %s)", r.status, want, code)
}
