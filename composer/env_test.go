package composer

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/core/storage/storagetest"
	"github.com/smartregistry/smartregistry/internal/handlertest"
)

const (
	testBaseURL = "http://registry.test/composer"
	adminToken  = "admin-token"
	utilReader  = "util-reader"
	utilWriter  = "util-writer"
	adminRO     = "admin-ro"
)

// testEnv is a handler on a storage backend, with static tokens: the
// admin, a reader and a writer of acme/util only, and a read-only admin.
type testEnv struct {
	t       testing.TB
	backend core.Backend
	storage *core.Storage
	h       *Handler
}

func newTestEnv(t testing.TB) *testEnv { return newTestEnvOn(t, newMemory(), noHooks, Config{}) }

// noHooks are no storage hooks.
var noHooks = core.StorageHooks{}

func newMemory() core.Backend { return memory.New() }

// newTestEnvOn builds a handler on an existing backend: two environments
// on one backend are two replicas.
func newTestEnvOn(t testing.TB, backend core.Backend, hooks core.StorageHooks, cfg Config) *testEnv {
	t.Helper()
	deps := handlertest.Deps(t, backend, hooks, core.DefaultAuthOptions{
		Users: []core.UserConfig{{Username: "admin", Password: "secret-pw"}},
		Tokens: []core.StaticToken{
			{Token: adminToken, UserID: "admin"},
			{Token: utilReader, UserID: "reader", Scopes: []string{"composer:package:acme/util:read"}},
			{Token: utilWriter, UserID: "writer", Scopes: []string{"composer:package:acme/util:write"}},
			{Token: adminRO, UserID: "admin", ReadOnly: true},
		},
	})
	h, err := New(deps, cfg)
	if err != nil {
		t.Fatal(err)
	}
	handlertest.CloseAtCleanup(t, h)
	return &testEnv{t: t, backend: backend, storage: deps.Storage, h: h}
}

// request describes one call; the token is sent as composer sends
// http-basic credentials (user "token", the token as password), or as a
// bearer token when bearer is set.
type request struct {
	method, path string
	token        string
	bearer       bool
	header       map[string]string
	body         []byte
}

type response struct {
	status int
	header http.Header
	body   string
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("%d %s: %v", r.status, r.body, err)
	}
}

func (e *testEnv) do(ctx context.Context, r request) response {
	e.t.Helper()
	req := handlertest.Request(e.t, r.method, r.path, r.body, testBaseURL)
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	switch {
	case r.token != "" && r.bearer:
		req.Header.Set("Authorization", "Bearer "+r.token)
	case r.token != "":
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("token:"+r.token)))
	}
	resp := handlertest.Do(ctx, e.t, e.h, req, rootPrefix)
	return response{status: resp.Status, header: resp.Header, body: resp.Body}
}

// serve puts the handler behind a real HTTP server on loopback.
func (e *testEnv) serve() *httptest.Server { return handlertest.Serve(e.t, e.h) }

// upload PUTs a zip with the admin token; version goes into the query
// when set.
func (e *testEnv) upload(ctx context.Context, name, version string, zip []byte) response {
	e.t.Helper()
	path := "/packages/" + name
	if version != "" {
		path += "?version=" + url.QueryEscape(version)
	}
	return e.do(ctx, request{method: http.MethodPut, path: path, token: adminToken, body: zip})
}

// mustUpload uploads p (at version, or composer.json's) and fails on
// anything but 201.
func (e *testEnv) mustUpload(ctx context.Context, p pkg, version string) {
	e.t.Helper()
	if r := e.upload(ctx, p.name, version, p.zip(e.t)); r.status != http.StatusCreated {
		e.t.Fatalf("upload %s %s: %d %s", p.name, version, r.status, r.body)
	}
}

// versions reads a /p2/ file and returns its versions, expanded.
func (e *testEnv) versions(ctx context.Context, file string) []map[string]json.RawMessage {
	e.t.Helper()
	r := e.do(ctx, request{method: http.MethodGet, path: "/p2/" + file, token: adminToken})
	if r.status != http.StatusOK {
		e.t.Fatalf("GET /p2/%s: %d %s", file, r.status, r.body)
	}
	var doc struct {
		Minified string                                  `json:"minified"`
		Packages map[string][]map[string]json.RawMessage `json:"packages"`
	}
	r.json(e.t, &doc)
	if doc.Minified != "composer/2.0" || len(doc.Packages) != 1 {
		e.t.Fatalf("GET /p2/%s: %s", file, r.body)
	}
	for _, vs := range doc.Packages {
		return Expand(vs)
	}
	return nil
}

// keys lists every storage key.
func (e *testEnv) keys(ctx context.Context) []string {
	return storagetest.Keys(ctx, e.t, e.storage)
}
