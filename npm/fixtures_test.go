package npm

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/core/storage/storagetest"
)

// Test credentials: an admin token with every scope, a token limited to
// the @team scope, and a read-only token.
const (
	adminToken    = "admin-token"
	teamToken     = "team-token"
	readerToken   = "reader-token"
	adminPassword = "admin-secret"
	testBase      = "http://registry.test/npm"
)

var (
	hashMu sync.Mutex
	hashes = map[string]string{}
)

// passwordHash hashes a test password once per process: hashing is slow
// on purpose.
func passwordHash(t testing.TB, password string) string {
	hashMu.Lock()
	defer hashMu.Unlock()
	if h, ok := hashes[password]; ok {
		return h
	}
	h, err := core.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	hashes[password] = h
	return h
}

// testEnv is a Handler over a storage, with a way to send it requests.
type testEnv struct {
	t       testing.TB
	h       *Handler
	storage *core.Storage
}

// newTestEnv builds a handler on backend (a fresh memory backend when nil).
func newTestEnv(t testing.TB, backend core.Backend) *testEnv {
	t.Helper()
	if backend == nil {
		backend = memory.New()
	}
	storage := core.NewStorage(backend, core.StorageHooks{})
	provider, err := core.NewDefaultAuthProvider(core.DefaultAuthOptions{
		Users: []core.UserConfig{
			{Username: "admin", PasswordHash: passwordHash(t, adminPassword)},
			{Username: "team", PasswordHash: passwordHash(t, "team-secret"), Scopes: []string{"npm:package:@team/*:write"}},
		},
		Tokens: []core.StaticToken{
			{Token: adminToken, UserID: "admin"},
			{Token: teamToken, UserID: "team"},
			{Token: readerToken, UserID: "admin", ReadOnly: true},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	auth, err := core.NewAuthManager(core.AuthOptions{Provider: provider})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(core.Deps{Storage: storage, Auth: auth}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{t: t, h: h, storage: storage}
}

// result is a response read whole.
type result struct {
	status int
	header http.Header
	body   []byte
}

func (r result) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// do sends a request the way the Registry would: path below the base
// path, escaped; errors rendered by ErrorResponse.
func (e *testEnv) do(ctx context.Context, method, target, token string, body io.Reader, header ...string) result {
	e.t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		e.t.Fatal(err)
	}
	req := &core.RequestContext{Method: method, Path: u.EscapedPath(), Header: http.Header{}, Query: u.Query(),
		Body: body, ContentLength: -1, Actor: &core.Actor{}, BaseURL: testBase}
	if u.RawPath != "" {
		req.Path = u.RawPath
	}
	if body == nil {
		req.Body = http.NoBody
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.h.Handle(ctx, req)
	if err != nil {
		resp = e.h.ErrorResponse(ctx, req, err)
	}
	if resp == nil {
		return result{status: http.StatusNoContent}
	}
	var b []byte
	if resp.Body != nil {
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	status := resp.Status
	if status == 0 {
		status = http.StatusOK
	}
	if status >= 400 {
		checkNoStorageKeys(e.t, string(b))
	}
	return result{status: status, header: resp.Header, body: b}
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

// keys lists every key in storage.
func (e *testEnv) keys(ctx context.Context) []string {
	return storagetest.Keys(ctx, e.t, e.storage)
}

// makeTarball builds a package tarball whose package.json holds the given
// name and version, plus an index.js.
func makeTarball(t testing.TB, name, version string) []byte {
	t.Helper()
	pj, _ := json.Marshal(map[string]any{"name": name, "version": version, "description": "test package " + name,
		"main": "index.js"})
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range []struct {
		name string
		data []byte
	}{{"package/package.json", pj}, {"package/index.js", []byte("module.exports = 42\n")}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// publishDoc is a publish body being built; the fields can be spoilt
// before encoding to test refusals.
type publishDoc struct {
	name, version, tag string
	tarball            []byte
	shasum, integrity  string
	data               string // base64 of tarball unless set
	extra              map[string]any
}

// regzip compresses tgz's content again with a gzip comment: the same
// package, other bytes.
func regzip(t testing.TB, tgz []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Comment = "other bytes"
	if _, err := io.Copy(zw, zr); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func newPublish(t testing.TB, name, version string) *publishDoc {
	return newPublishFrom(name, version, makeTarball(t, name, version))
}

// newPublishFrom is a publish of the given tarball with correct sums.
func newPublishFrom(name, version string, tgz []byte) *publishDoc {
	s1 := sha1.Sum(tgz)
	s512 := sha512.Sum512(tgz)
	return &publishDoc{name: name, version: version, tag: "latest", tarball: tgz,
		shasum: hex.EncodeToString(s1[:]), integrity: "sha512-" + base64.StdEncoding.EncodeToString(s512[:])}
}

// body encodes the document as npm publish sends it.
func (p *publishDoc) body() []byte {
	data := p.data
	if data == "" {
		data = base64.StdEncoding.EncodeToString(p.tarball)
	}
	file := p.name + "-" + p.version + ".tgz"
	manifest := map[string]any{"name": p.name, "version": p.version, "description": "test package " + p.name,
		"keywords": []string{"testing", "fixture"}, "_id": p.name + "@" + p.version,
		"dist": map[string]any{"shasum": p.shasum, "integrity": p.integrity,
			"tarball": "http://client.invalid/" + p.name + "/-/" + path.Base(file)}}
	for k, v := range p.extra {
		manifest[k] = v
	}
	doc := map[string]any{
		"_id": p.name, "name": p.name, "description": "test package", "dist-tags": map[string]string{p.tag: p.version},
		"versions": map[string]any{p.version: manifest}, "access": nil,
		"_attachments": map[string]any{file: map[string]any{"content_type": "application/octet-stream",
			"data": data, "length": len(p.tarball)}},
	}
	b, _ := json.Marshal(doc)
	return b
}

// escapedName is how npm puts a name in a URL path.
func escapedName(name string) string { return strings.Replace(name, "/", "%2f", 1) }

// publish publishes and fails the test unless it answers 201.
func (e *testEnv) publish(ctx context.Context, token string, p *publishDoc) {
	e.t.Helper()
	r := e.do(ctx, http.MethodPut, "/"+escapedName(p.name), token, bytes.NewReader(p.body()))
	if r.status != http.StatusCreated {
		e.t.Fatalf("publish %s@%s: %d %s", p.name, p.version, r.status, r.body)
	}
}

// packument fetches the full document.
func (e *testEnv) packument(ctx context.Context, name string) map[string]any {
	e.t.Helper()
	r := e.do(ctx, http.MethodGet, "/"+escapedName(name)+"?write=true", adminToken, nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("GET %s: %d %s", name, r.status, r.body)
	}
	var doc map[string]any
	r.json(e.t, &doc)
	return doc
}
