package pypi

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/core/storage/storagetest"
	"github.com/smartregistry/smartregistry/internal/handlertest"
)

// Credentials of the test environment.
const (
	adminToken  = "admin-token"
	fooReader   = "foo-read-token"  // pypi:package:foo:read
	fooWriter   = "foo-write-token" // pypi:package:foo:write
	adminRO     = "admin-ro-token"  // the admin's, read-only
	testBaseURL = "http://registry.test/pypi"
)

// testEnv is a handler on a memory backend, called through Handle and
// ErrorResponse the way the registry does.
type testEnv struct {
	t       testing.TB
	backend core.Backend
	storage *core.Storage
	h       *Handler
}

func newTestEnv(t testing.TB, anonymousRead bool, users ...core.UserConfig) *testEnv {
	t.Helper()
	return newTestEnvOn(t, memory.New(), anonymousRead, users...)
}

// newTestEnvOn builds a handler on an existing backend: two environments on
// one backend are two replicas.
func newTestEnvOn(t testing.TB, backend core.Backend, anonymousRead bool, users ...core.UserConfig) *testEnv {
	t.Helper()
	var anonymous []core.Protocol
	if anonymousRead {
		anonymous = []core.Protocol{core.ProtocolPyPI}
	}
	deps := handlertest.Deps(t, backend, core.StorageHooks{}, core.DefaultAuthOptions{
		Users: users,
		Tokens: []core.StaticToken{
			{Token: adminToken, UserID: "admin"},
			{Token: fooReader, UserID: "reader", Scopes: []string{"pypi:package:foo:read"}},
			{Token: fooWriter, UserID: "writer", Scopes: []string{"pypi:package:foo:write"}},
			{Token: adminRO, UserID: "admin", ReadOnly: true},
		},
	}, anonymous...)
	h, err := New(deps, Config{})
	if err != nil {
		t.Fatal(err)
	}
	handlertest.CloseAtCleanup(t, h)
	return &testEnv{t: t, backend: backend, storage: deps.Storage, h: h}
}

// request describes one call: the token (sent as twine does, Basic
// __token__:token) and headers are optional.
type request struct {
	method, path string
	token        string
	user, pass   string // Basic user:password instead of a token
	header       map[string]string
	body         []byte
}

type response struct {
	status int
	header http.Header
	body   string
}

func (e *testEnv) do(ctx context.Context, r request) response {
	e.t.Helper()
	req := handlertest.Request(e.t, r.method, r.path, r.body, testBaseURL)
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	if r.token != "" {
		r.user, r.pass = "__token__", r.token
	}
	if r.user != "" {
		req.Header.Set("Authorization", basicAuth(r.user, r.pass))
	}
	resp := handlertest.Do(ctx, e.t, e.h, req, projectsPrefix, filesPrefix, uploadsPrefix)
	return response{status: resp.Status, header: resp.Header, body: resp.Body}
}

// exchange is a request and what is expected back.
type exchange struct {
	name   string
	req    request
	status int
	body   string // a part of the answer's body
}

// exchanges runs each exchange as a subtest of t, then check, when not nil,
// on its answer.
func (e *testEnv) exchanges(t *testing.T, xs []exchange, check func(t *testing.T, r response)) {
	t.Helper()
	for _, x := range xs {
		t.Run(x.name, func(t *testing.T) {
			r := e.do(t.Context(), x.req)
			if r.status != x.status || !strings.Contains(r.body, x.body) {
				t.Fatalf("got %d %q, want %d with %q", r.status, r.body, x.status, x.body)
			}
			if check != nil {
				check(t, r)
			}
		})
	}
}

// basicAuth is an Authorization header value.
func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// handle calls the handler the way the registry does.
func (e *testEnv) handle(ctx context.Context, req *core.RequestContext) *core.Response {
	return handlertest.Handle(ctx, e.h, req)
}

// serve puts the handler behind a real HTTP server on loopback.
func (e *testEnv) serve() *httptest.Server { return handlertest.Serve(e.t, e.h) }

// upload sends a file as twine would, with the admin token unless told.
func (e *testEnv) upload(ctx context.Context, d dist, filename string, content []byte, fields map[string]string) response {
	e.t.Helper()
	body, ct := uploadBody(e.t, d, filename, content, fields)
	return e.do(ctx, request{method: http.MethodPost, path: "/", token: adminToken,
		header: map[string]string{"Content-Type": ct}, body: body})
}

// mustUpload uploads a wheel and an sdist of d.
func (e *testEnv) mustUpload(ctx context.Context, d dist) {
	e.t.Helper()
	for _, f := range []struct {
		name    string
		content []byte
	}{{d.wheelName(), d.wheel(e.t)}, {d.sdistName(), d.sdist(e.t)}} {
		if r := e.upload(ctx, d, f.name, f.content, nil); r.status != http.StatusOK {
			e.t.Fatalf("upload %s: %d %s", f.name, r.status, r.body)
		}
	}
}

// keys lists every storage key.
func (e *testEnv) keys(ctx context.Context) []string {
	return storagetest.Keys(ctx, e.t, e.storage)
}
