package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/go-chi/chi/v5"

	"github.com/authd/authd/docs"
)

// Every exchange a test makes through a harness's client (h.do, h.race,
// send) is checked against docs/openapi.yaml by validatingTransport: the
// request must be an operation of the document and conform to it, and the
// response must be one the operation documents, headers and body included.
// So the document cannot drift from the code without a test failing.

// deliberatelyInvalid, used as a header name in the header list of h.do or
// send, marks an exchange whose request is meant to break the document
// (malformed JSON, a wrong media type, a missing credential, a field the
// server must refuse): its value says why. The transport strips it before
// sending, checks that the request does break the document (so a mark
// cannot go stale, nor the document grow too loose), and validates the
// response as usual.
const deliberatelyInvalid = "X-Test-Deliberately-Invalid"

// Exchange counts, reported once after all tests (see Example_openAPIReport).
var (
	validatedPairs   atomic.Int64 // responses validated (every exchange)
	invalidRequests  atomic.Int64 // of which the request deliberately broke the document
	unroutedRequests atomic.Int64 // of which the path or method is not routed (404/405)
)

// openAPISpec is docs/openapi.yaml, loaded and validated once per binary.
type openAPISpec struct {
	doc    *openapi3.T
	router routers.Router
}

var loadSpec = sync.OnceValues(func() (*openAPISpec, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(docs.OpenAPI)
	if err != nil {
		return nil, fmt.Errorf("load docs/openapi.yaml: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("docs/openapi.yaml is not a valid OpenAPI document: %w", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route docs/openapi.yaml: %w", err)
	}
	return &openAPISpec{doc: doc, router: router}, nil
})

func openAPI(t testing.TB) *openAPISpec {
	t.Helper()
	s, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// validateExchanges makes srv's client validate every exchange against the
// document. A mismatch is returned as the client's error, so the test that
// made the request fails with method, path, status and the reason.
func validateExchanges(t testing.TB, srv *httptest.Server) {
	t.Helper()
	routes, ok := srv.Config.Handler.(chi.Routes)
	if !ok {
		t.Fatalf("the handler is a %T, not a chi router: cannot tell routed from unrouted requests", srv.Config.Handler)
	}
	client := srv.Client()
	client.Transport = &validatingTransport{base: client.Transport, spec: openAPI(t), routes: routes}
}

type validatingTransport struct {
	base   http.RoundTripper
	spec   *openAPISpec
	routes chi.Routes
}

// CloseIdleConnections lets httptest.Server.Close reach the real transport.
func (vt *validatingTransport) CloseIdleConnections() {
	if c, ok := vt.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func (vt *validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	why := req.Header.Get(deliberatelyInvalid)
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
	}
	out := req.Clone(req.Context())
	out.Header.Del(deliberatelyInvalid)
	if reqBody != nil {
		out.Body = io.NopCloser(bytes.NewReader(reqBody))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(reqBody)), nil }
	}
	res, err := vt.base.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	resBody, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(resBody))
	if err := vt.validateExchange(out, reqBody, why, res, resBody); err != nil {
		return nil, fmt.Errorf("docs/openapi.yaml: %s %s -> %d: %w", out.Method, out.URL.Path, res.StatusCode, err)
	}
	validatedPairs.Add(1)
	return res, nil
}

var standardMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}

// validateExchange checks one request/response pair. The chi router decides
// whether the request reached an operation: if it did, the document must
// have that operation and both sides must conform to it; if it did not, the
// response must be the document's NotFound (no such path) or
// MethodNotAllowed (the path exists with other methods) response.
func (vt *validatingTransport) validateExchange(req *http.Request, reqBody []byte, why string, res *http.Response, resBody []byte) error {
	ctx := context.Background()
	opts := &openapi3filter.Options{
		IncludeResponseStatus: true, // a status the operation does not list is a mismatch
		AuthenticationFunc:    bearerShape,
	}
	// Name the failing place and rule, without dumping schema and value
	// (the value may be a 70 KiB body, or a token).
	opts.WithCustomSchemaErrorFunc(schemaErrorMessage)
	vreq := req.Clone(ctx)
	if reqBody != nil {
		vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	}

	var route *routers.Route
	var params map[string]string
	routed := vt.routes.Match(chi.NewRouteContext(), req.Method, req.URL.Path)
	if routed {
		var err error
		if route, params, err = vt.spec.router.FindRoute(vreq); err != nil {
			return fmt.Errorf("the router serves this but the document has no such operation: %w", err)
		}
	} else {
		var allowed []string
		for _, m := range standardMethods {
			if vt.routes.Match(chi.NewRouteContext(), m, req.URL.Path) {
				allowed = append(allowed, m)
			}
		}
		var err error
		if route, err = vt.spec.unrouted(req, allowed, res.Header.Get("Allow")); err != nil {
			return err
		}
	}

	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: opts}
	if routed {
		err := validateRequest(ctx, in, reqBody)
		switch {
		case why == "" && err != nil:
			return fmt.Errorf("request does not conform (mark it %s if that is deliberate): %w", deliberatelyInvalid, err)
		case why != "" && err == nil:
			return fmt.Errorf("request marked deliberately invalid (%s) conforms to the document: drop the mark or tighten the document", why)
		}
	}

	status := res.StatusCode
	if status == http.StatusNotModified {
		// openapi3filter skips 304 altogether; check that the operation
		// documents it and that its headers conform, by validating it as
		// the only response of a stand-in operation.
		ref := route.Operation.Responses.Status(status)
		if ref == nil {
			return errors.New("the operation does not document 304")
		}
		if len(resBody) > 0 {
			return errors.New("304 with a body")
		}
		stand := *route
		stand.Operation = &openapi3.Operation{Responses: openapi3.NewResponses(openapi3.WithStatus(http.StatusOK, ref))}
		in = &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: &stand, Options: opts}
		status = http.StatusOK
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: res.Header, Options: opts}
	out.SetBodyBytes(resBody)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("response does not conform: %w", err)
	}
	// openapi3filter decodes only the first JSON value of a body.
	if len(resBody) > 0 && isJSON(res.Header.Get("Content-Type")) && !json.Valid(resBody) {
		return fmt.Errorf("response body is not one JSON value: %q", resBody)
	}
	if res.StatusCode != http.StatusNotModified && res.StatusCode != http.StatusNoContent && len(resBody) > 0 && res.Header.Get("Content-Type") == "" {
		return errors.New("response has a body but no Content-Type")
	}
	switch {
	case !routed:
		unroutedRequests.Add(1)
	case why != "":
		invalidRequests.Add(1)
	}
	return nil
}

// schemaErrorMessage names the failing place and rule without the schema
// and value dump of SchemaError.Error (the value may be a 70 KiB body).
func schemaErrorMessage(err *openapi3.SchemaError) string {
	msg := "at /" + strings.Join(err.JSONPointer(), "/") + ": " + err.Reason
	// An error of the JSON Schema 2020-12 validator (OpenAPI 3.1) carries
	// its own tree of causes, which says which keyword failed where.
	if cause := errors.Unwrap(err); err.Origin == nil && cause != nil {
		msg = cause.Error()
	}
	if len(msg) > 2000 {
		msg = msg[:2000] + "..."
	}
	return msg
}

// validateRequest is openapi3filter.ValidateRequest plus what it cannot see:
// a JSON body must be exactly one JSON value (openapi3filter ignores
// trailing data after the first).
func validateRequest(ctx context.Context, in *openapi3filter.RequestValidationInput, body []byte) error {
	if len(body) > 0 && isJSON(in.Request.Header.Get("Content-Type")) && !json.Valid(body) {
		return errors.New("the body is not one JSON value")
	}
	return openapi3filter.ValidateRequest(ctx, in)
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// unrouted builds a stand-in operation for a request no route serves: 404
// with the NotFound response, or 405 with MethodNotAllowed when the path
// has other methods. For a documented path the Allow header must list
// exactly the document's methods that the router serves.
func (s *openAPISpec) unrouted(req *http.Request, allowed []string, allowHeader string) (*routers.Route, error) {
	status, name := http.StatusNotFound, "NotFound"
	if len(allowed) > 0 {
		status, name = http.StatusMethodNotAllowed, "MethodNotAllowed"
		if item := s.doc.Paths.Find(req.URL.Path); item != nil {
			var documented []string
			for m := range item.Operations() {
				if slices.Contains(allowed, m) {
					documented = append(documented, m)
				}
			}
			slices.Sort(documented)
			got := strings.Split(allowHeader, ", ")
			slices.Sort(got)
			if !slices.Equal(got, documented) {
				return nil, fmt.Errorf("Allow: %q, but the document has %v for %s", allowHeader, documented, req.URL.Path)
			}
		}
	}
	resp := s.doc.Components.Responses[name]
	if resp == nil {
		return nil, fmt.Errorf("components/responses/%s is missing", name)
	}
	return &routers.Route{
		Spec:      s.doc,
		Path:      req.URL.Path,
		PathItem:  &openapi3.PathItem{},
		Method:    req.Method,
		Operation: &openapi3.Operation{Responses: openapi3.NewResponses(openapi3.WithStatus(status, resp))},
	}, nil
}

// token68 is the RFC 7235 credential syntax a bearer token must have.
var token68 = regexp.MustCompile(`^[A-Za-z0-9._~+/-]+=*$`)

// bearerShape checks what the document can promise about a bearer
// credential: its presence and syntax. Whether the token verifies is the
// server's business (a forged token is a well-formed request that gets 401).
func bearerShape(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.SecurityScheme.Type == "apiKey" {
		return apiKeyPresent(in)
	}
	if in.SecurityScheme.Type != "http" || !strings.EqualFold(in.SecurityScheme.Scheme, "bearer") {
		return fmt.Errorf("security scheme %q: only HTTP bearer is modelled", in.SecuritySchemeName)
	}
	scheme, token, _ := strings.Cut(in.RequestValidationInput.Request.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || !token68.MatchString(token) {
		return errors.New("no Authorization: Bearer <token68> credential")
	}
	return nil
}

// Example_openAPIReport prints the exchange count once per run. It is an
// example, not a line in TestMain, because examples run after every test
// and pgtest.Main (TestMain) exits the process itself; it writes to stderr
// so its (empty) example output is not compared against the count.
func Example_openAPIReport() {
	fmt.Fprintf(os.Stderr, "openapi: validated %d request/response pairs against docs/openapi.yaml (%d requests deliberately invalid, %d to unrouted paths or methods)\n",
		validatedPairs.Load(), invalidRequests.Load(), unroutedRequests.Load())
	// Output:
}

// pendingRoutes are documented for routes another change adds; until the
// router serves them, their absence is tolerated.
var pendingRoutes = map[string]bool{
	"GET /openapi.yaml":                           true,
	"GET /.well-known/oauth-authorization-server": true,
	"GET /metrics":                                true,
}

// TestOpenAPIDocumentMatchesRouter: the document is valid OpenAPI 3.1, every
// route the router serves (with every optional route configured) is
// documented, and every documented operation is routed.
func TestOpenAPIDocumentMatchesRouter(t *testing.T) {
	s := openAPI(t) // loads and validates the document
	if s.doc.OpenAPI != "3.1.0" || !s.doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi = %q, want 3.1.0", s.doc.OpenAPI)
	}
	// Browser mode on too: its OPTIONS routes are documented operations.
	h := newHarnessWith(t, nil, browserOptions(false, "https://app.example.com"))
	routes, ok := h.srv.Config.Handler.(chi.Routes)
	if !ok {
		t.Fatalf("NewHandler returns a %T, not chi.Routes", h.srv.Config.Handler)
	}
	routed := map[string]bool{}
	err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routed[method+" "+route] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, item := range s.doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	if len(routed) < 8 || len(documented) < 8 {
		t.Fatalf("routed %v, documented %v: too few to prove anything", routed, documented)
	}
	for r := range routed {
		if !documented[r] {
			t.Errorf("%s is routed but not in docs/openapi.yaml", r)
		}
	}
	for d := range documented {
		switch {
		case routed[d]:
		case pendingRoutes[d]:
			t.Logf("%s is documented but not routed yet (tolerated while it is being added)", d)
		default:
			t.Errorf("%s is in docs/openapi.yaml but not routed", d)
		}
	}
}

// TestPublicDocumentsConform fetches every unauthenticated GET operation of
// the document, and revalidates the cacheable ones with If-None-Match, so
// their responses are validated too.
func TestPublicDocumentsConform(t *testing.T) {
	s := openAPI(t)
	h := newHarness(t, nil)
	for path, item := range s.doc.Paths.Map() {
		op := item.Get
		if op == nil || (op.Security != nil && !slices.ContainsFunc(*op.Security, func(r openapi3.SecurityRequirement) bool { return len(r) == 0 })) {
			continue
		}
		t.Run(path, func(t *testing.T) {
			r := h.do(t, "GET", path, "")
			if r.status == http.StatusNotFound && pendingRoutes["GET "+path] {
				t.Skipf("%s is not routed yet", path)
			}
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if etag := r.header.Get("ETag"); etag != "" {
				if r := h.do(t, "GET", path, "", "If-None-Match", etag); r.status != http.StatusNotModified {
					t.Fatalf("If-None-Match %s: %d", etag, r.status)
				}
			}
		})
	}
}
