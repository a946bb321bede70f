package oci

import (
	"bytes"
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// Test users: admin may do anything; alice may pull team-a/* only; bob
// may do anything in team-a/* only.
const (
	adminUser, adminPass = "admin", "secret"
	aliceUser, alicePass = "alice", "wonderland"
	bobUser, bobPass     = "bob", "builder"
)

// testServer is the handler mounted the way the Registry mounts it: at
// /oci, and /v2 at the root.
type testServer struct {
	*httptest.Server
	// h is the handler serving; tests swap it to play a second replica.
	h atomic.Pointer[Handler]
}

// newTestServer serves a handler over backend (memory when nil).
func newTestServer(t testing.TB, backend core.Backend, cfg Config) *testServer {
	t.Helper()
	if backend == nil {
		backend = memory.New()
	}
	h := newHandler(t, core.NewStorage(backend, core.StorageHooks{}), testAuth(t), cfg)
	ts := &testServer{}
	ts.h.Store(h)
	ts.Server = httptest.NewServer(http.HandlerFunc(ts.serveHTTP))
	t.Cleanup(ts.Close)
	return ts
}

// forEachBackend runs test as a subtest on each storage backend: memory,
// and S3 on the test MinIO (skipped without an endpoint unless tools are
// required).
func forEachBackend(t *testing.T, test func(t *testing.T, backend core.Backend)) {
	t.Run("memory", func(t *testing.T) { test(t, memory.New()) })
	t.Run("s3", func(t *testing.T) { test(t, s3Backend(t, s3Options(t))) })
}

// testAuth is the auth of the test users; anonymousRead lists the
// protocols anyone may read. Every testAuth shares the JWT secret, like
// replicas must.
func testAuth(t testing.TB, anonymousRead ...core.Protocol) *core.AuthManager {
	t.Helper()
	prov, err := core.NewDefaultAuthProvider(core.DefaultAuthOptions{Users: []core.UserConfig{
		{Username: adminUser, PasswordHash: cheapHash(t, adminPass)},
		{Username: aliceUser, PasswordHash: cheapHash(t, alicePass), Scopes: []string{"oci:repository:team-a/*:read"}},
		{Username: bobUser, PasswordHash: cheapHash(t, bobPass), Scopes: []string{"oci:repository:team-a/*:*"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	auth, err := core.NewAuthManager(core.AuthOptions{Provider: prov, JWTSecret: []byte("test-secret-of-at-least-32-bytes"), AnonymousRead: anonymousRead})
	if err != nil {
		t.Fatal(err)
	}
	return auth
}

// cheapHash is a password hash in core.HashPassword's format with one
// PBKDF2 iteration, so that tests do not spend seconds checking passwords.
func cheapHash(t testing.TB, password string) string {
	t.Helper()
	salt := []byte("test-salt-16byte")
	key, err := pbkdf2.Key(sha256.New, password, salt, 1, 32)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawStdEncoding
	return "pbkdf2-sha256$1$" + enc.EncodeToString(salt) + "$" + enc.EncodeToString(key)
}

// newHandler builds a Handler and closes it when the test ends.
func newHandler(t testing.TB, st *core.Storage, auth *core.AuthManager, cfg Config) *Handler {
	t.Helper()
	cfg.Enabled = true
	h, err := New(core.Deps{Storage: st, Auth: auth}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	return h
}

func (ts *testServer) serveHTTP(w http.ResponseWriter, hr *http.Request) {
	path := hr.URL.EscapedPath()
	if rest, ok := strings.CutPrefix(path, "/oci"); ok {
		path = rest
	}
	req := &core.RequestContext{
		Method: hr.Method, Path: path, Header: hr.Header, Query: hr.URL.Query(), Body: hr.Body,
		ContentLength: hr.ContentLength, Actor: &core.Actor{}, BaseURL: "http://" + hr.Host + "/oci",
	}
	h := ts.h.Load()
	resp, err := h.Handle(hr.Context(), req)
	if err != nil {
		resp = h.ErrorResponse(hr.Context(), req, err)
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.Status)
	if resp.Body != nil {
		if hr.Method != http.MethodHead {
			io.Copy(w, resp.Body)
		}
		resp.Body.Close()
	}
}

// step is one request of a test table and what it must answer. In URL
// and headers, "{loc}" stands for the Location of the previous answer.
type step struct {
	name   string
	method string
	url    string
	header http.Header
	body   []byte

	status int
	// wantHeader values must match exactly; "?" only asks for presence
	// and "" for absence.
	wantHeader map[string]string
	// code is the expected error code of the body, if any.
	code string
	// wantBody is the exact expected body, if not nil.
	wantBody []byte
	// before, when set, runs before the request is sent.
	before func()
	// check, when set, inspects the response body.
	check func(t *testing.T, resp *http.Response, body []byte)
}

// runSteps sends each step in order, remembering Locations.
func runSteps(t *testing.T, ts *testServer, steps []step) {
	t.Helper()
	loc := ""
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		url := strings.ReplaceAll(s.url, "{loc}", loc)
		if !strings.HasPrefix(url, "http") {
			url = ts.URL + url
		}
		req, err := http.NewRequestWithContext(t.Context(), s.method, url, bytes.NewReader(s.body))
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if s.body == nil {
			req.Body, req.ContentLength = http.NoBody, 0
		}
		for k, vs := range s.header {
			for _, v := range vs {
				req.Header.Add(k, strings.ReplaceAll(v, "{loc}", loc))
			}
		}
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: read body: %v", s.name, err)
		}
		if resp.StatusCode != s.status {
			t.Errorf("%s: %s %s: status %d, want %d; body %s", s.name, s.method, url, resp.StatusCode, s.status, body)
			continue
		}
		if resp.StatusCode >= 400 {
			checkNoStorageKeys(t, string(body))
		}
		for k, want := range s.wantHeader {
			got, present := resp.Header.Get(k), len(resp.Header.Values(k)) > 0
			switch {
			case want == "?" && !present:
				t.Errorf("%s: header %s missing", s.name, k)
			case want == "" && present:
				t.Errorf("%s: header %s = %q, want none", s.name, k, got)
			case want != "?" && want != "" && got != want:
				t.Errorf("%s: header %s = %q, want %q", s.name, k, got, want)
			}
		}
		if s.code != "" {
			var eb errorBody
			if err := json.Unmarshal(body, &eb); err != nil || len(eb.Errors) == 0 || eb.Errors[0].Code != s.code {
				t.Errorf("%s: body %s, want error code %s", s.name, body, s.code)
			}
		}
		if s.wantBody != nil && !bytes.Equal(body, s.wantBody) {
			t.Errorf("%s: body %q, want %q", s.name, body, s.wantBody)
		}
		if s.check != nil {
			s.check(t, resp, body)
		}
		if l := resp.Header.Get("Location"); l != "" {
			loc = l
		}
	}
}

// basic returns headers with HTTP Basic credentials, plus extra key/value
// pairs.
func basic(user, pass string, kv ...string) http.Header {
	return withPairs(http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))}}, kv...)
}

// bearer returns headers with a bearer token, plus extra key/value pairs.
func bearer(token string, kv ...string) http.Header {
	return withPairs(http.Header{"Authorization": {"Bearer " + token}}, kv...)
}

func withPairs(h http.Header, kv ...string) http.Header {
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// fetchToken asks ts's token endpoint for a token with the query (for
// example "scope=repository:app:pull") and credentials in header.
func fetchToken(t *testing.T, ts *testServer, query string, header http.Header) string {
	t.Helper()
	var tok tokenResponse
	runSteps(t, ts, []step{{name: "token " + query, method: "GET", url: "/oci/token?" + query, header: header, status: 200,
		check: func(t *testing.T, _ *http.Response, body []byte) {
			if err := json.Unmarshal(body, &tok); err != nil || tok.Token == "" {
				t.Fatalf("token response %s: %v", body, err)
			}
		}}})
	return tok.Token
}

// patch is one request of patchConcurrently.
type patch struct {
	ts     *testServer
	url    string
	header http.Header
	body   []byte
}

// patchConcurrently sends the PATCH requests at once and returns their
// status codes.
func patchConcurrently(t *testing.T, patches []patch) []int {
	t.Helper()
	statuses := make([]int, len(patches))
	var wg sync.WaitGroup
	for i, p := range patches {
		wg.Go(func() {
			req, err := http.NewRequestWithContext(t.Context(), "PATCH", p.url, bytes.NewReader(p.body))
			if err != nil {
				t.Error(err)
				return
			}
			req.Header = p.header
			resp, err := p.ts.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	wg.Wait()
	return statuses
}

// admin is basic(adminUser, adminPass, kv...).
func admin(kv ...string) http.Header { return basic(adminUser, adminPass, kv...) }

// sha256Digest is the digest string of b.
func sha256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// pushBlob uploads b monolithically to repository name as admin.
func pushBlob(t *testing.T, ts *testServer, name string, b []byte) string {
	t.Helper()
	d := sha256Digest(b)
	runSteps(t, ts, []step{{
		name: "push blob", method: "POST", url: "/v2/" + name + "/blobs/uploads/?digest=" + d,
		header: admin(), body: b, status: http.StatusCreated,
	}})
	return d
}

// testImage pushes a config and one layer to name and returns an image
// manifest referencing them.
func testImage(t *testing.T, ts *testServer, name, layer string) []byte {
	t.Helper()
	cfg := []byte(`{"architecture":"amd64","os":"linux"}`)
	cd := pushBlob(t, ts, name, cfg)
	ld := pushBlob(t, ts, name, []byte(layer))
	m, err := json.Marshal(Manifest{
		SchemaVersion: 2, MediaType: MediaTypeImageManifest,
		Config: &Descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: cd, Size: int64(len(cfg))},
		Layers: []Descriptor{{MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Digest: ld, Size: int64(len(layer))}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// checkNoStorageKeys fails the test when an error body names a storage
// key: errors say what the client sent, never where it is kept.
func checkNoStorageKeys(t testing.TB, body string) {
	t.Helper()
	for _, p := range keyPrefixes {
		if strings.Contains(body, p) {
			t.Errorf("error body names a storage key (%s...): %s", p, body)
		}
	}
}
