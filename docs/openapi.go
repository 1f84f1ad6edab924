// Package docs holds authd's machine-readable API description, embedded so
// the binary can serve the very document its tests are validated against.
//
// docs/openapi.yaml is the OpenAPI 3.1 description of the HTTP API; the
// component tests of adapters/httpapi check every request and response they
// exchange against it and that it names exactly the routes the router
// serves, so it cannot drift from the code. docs/API.md is the prose
// reference for people.
package docs

import _ "embed"

// OpenAPI is docs/openapi.yaml, served at GET /openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte
