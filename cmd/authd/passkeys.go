package main

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/authd/authd/adapters/webauthn"
)

// relyingParty is the WebAuthn relying party AUTH_WEBAUTHN_RP_ID and
// AUTH_WEBAUTHN_ORIGINS describe, defaulting to AUTH_APP_URL's host and
// origin: passkeys are bound to the web app's domain, not to authd's.
func (c config) relyingParty() (*webauthn.RP, error) {
	app, err := url.Parse(c.AppURL)
	if err != nil || app.Hostname() == "" {
		return nil, fmt.Errorf("invalid configuration: AUTH_APP_URL: not an absolute URL")
	}
	rpID := strings.TrimSpace(c.WebAuthnRPID)
	if rpID == "" {
		rpID = app.Hostname()
	}
	origins := make([]string, 0, len(c.WebAuthnOrigins))
	for _, o := range c.WebAuthnOrigins {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, strings.TrimRight(o, "/"))
		}
	}
	if len(origins) == 0 {
		origins = []string{app.Scheme + "://" + app.Host}
	}
	rp, err := webauthn.New(webauthn.Config{RPID: rpID, RPDisplayName: c.ProductName, Origins: origins})
	if err != nil {
		return nil, fmt.Errorf("invalid configuration: AUTH_WEBAUTHN_RP_ID / AUTH_WEBAUTHN_ORIGINS: %w", err)
	}
	return rp, nil
}
