package pypi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/internal/handlertest"
	"github.com/smartregistry/smartregistry/upstream"
)

// pipAccept is what pip sends for a simple page.
const pipAccept = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"

// newProxyEnv returns a test handler (auth on, no anonymous read) on a
// memory backend proxying the given upstreams.
func newProxyEnv(t testing.TB, cfg Config, ups ...core.Upstream) *testEnv {
	return newProxyEnvOn(t, memory.New(), core.StorageHooks{}, cfg, ups...)
}

// newProxyEnvOn is newProxyEnv on backend, with storage hooks.
func newProxyEnvOn(t testing.TB, backend core.Backend, hooks core.StorageHooks, cfg Config, ups ...core.Upstream) *testEnv {
	t.Helper()
	e := newTestEnvOn(t, backend, false)
	e.storage = core.NewStorage(backend, hooks)
	h, err := New(core.Deps{Storage: e.storage, Auth: e.h.deps.Auth, Upstream: handlertest.Upstreams(t, core.ProtocolPyPI, ups...),
		Logger: slog.New(slog.DiscardHandler)}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	e.h = h
	return e
}

// originWith returns an upstream registry (auth on) holding the given
// distributions, served over HTTP, and how to ask it (as pip would, HTTP
// Basic with __token__).
func originWith(t *testing.T, ds ...dist) (*testEnv, *httptest.Server, core.Upstream) {
	origin := newTestEnv(t, false)
	for _, d := range ds {
		origin.mustUpload(t.Context(), d)
	}
	srv := origin.serve()
	t.Cleanup(srv.Close)
	return origin, srv, core.Upstream{Name: "origin", URL: srv.URL, Username: "__token__", Password: adminToken}
}

func TestProxyServesUpstreamProjects(t *testing.T) {
	ctx := t.Context()
	foo := dist{name: "Foo", version: "1.0", requiresPython: ">=3.8"}
	_, srv, up := originWith(t, foo)
	e := newProxyEnv(t, Config{}, up)
	wheel, sdist := foo.wheel(t), foo.sdist(t)
	wheelHash, metaHash := sha256Hex(wheel), sha256Hex([]byte(foo.metadata()))

	// A read-only token is enough to fetch.
	xs := []struct {
		name     string
		req      request
		status   int
		contains []string
	}{
		{"html page", request{method: "GET", path: "/simple/foo/", token: fooReader}, 200, []string{
			`<a href="../../packages/foo/foo-1.0-py3-none-any.whl#sha256=` + wheelHash + `" data-requires-python="&gt;=3.8" data-dist-info-metadata="sha256=` + metaHash + `" data-core-metadata="sha256=` + metaHash + `">foo-1.0-py3-none-any.whl</a>`,
			`<a href="../../packages/foo/foo-1.0.tar.gz#sha256=` + sha256Hex(sdist) + `"`}},
		{"json page", request{method: "GET", path: "/simple/foo/", token: fooReader, header: map[string]string{"Accept": pipAccept}}, 200, []string{
			`"api-version":"1.1"`, `"versions":["1.0"]`, `"url":"../../packages/foo/foo-1.0-py3-none-any.whl"`,
			`"hashes":{"sha256":"` + wheelHash + `"}`, `"core-metadata":{"sha256":"` + metaHash + `"}`,
			`"size":` + strconv.Itoa(len(wheel)), `"requires-python":">=3.8"`}},
		{"wheel", request{method: "GET", path: "/packages/foo/foo-1.0-py3-none-any.whl", token: fooReader}, 200, []string{string(wheel)}},
		{"wheel again, cached", request{method: "GET", path: "/packages/foo/foo-1.0-py3-none-any.whl", token: fooReader}, 200, []string{string(wheel)}},
		{"head wheel", request{method: "HEAD", path: "/packages/foo/foo-1.0-py3-none-any.whl", token: fooReader}, 200, nil},
		{"core metadata", request{method: "GET", path: "/packages/foo/foo-1.0-py3-none-any.whl.metadata", token: fooReader}, 200, []string{foo.metadata()}},
		{"sdist", request{method: "GET", path: "/packages/foo/foo-1.0.tar.gz", token: fooReader}, 200, []string{string(sdist)}},
		{"sdist has no metadata file", request{method: "GET", path: "/packages/foo/foo-1.0.tar.gz.metadata", token: fooReader}, 404, nil},
		{"unknown file", request{method: "GET", path: "/packages/foo/foo-9.0.tar.gz", token: fooReader}, 404, nil},
		{"unknown project", request{method: "GET", path: "/simple/nowhere/", token: adminToken}, 404, nil},
		{"anonymous", request{method: "GET", path: "/simple/foo/"}, 401, nil},
		{"no read scope", request{method: "GET", path: "/simple/other/", token: fooReader}, 403, nil},
	}
	for _, x := range xs {
		t.Run(x.name, func(t *testing.T) {
			r := e.do(ctx, x.req)
			if r.status != x.status {
				t.Fatalf("status %d, want %d: %s", r.status, x.status, r.body)
			}
			for _, s := range x.contains {
				if !strings.Contains(r.body, s) {
					t.Errorf("body lacks %q:\n%s", s, r.body)
				}
			}
			if strings.Contains(r.body, srv.URL) {
				t.Errorf("upstream URL leaked: %s", r.body)
			}
		})
	}
	for _, k := range []string{upstreamFileKey("foo", foo.wheelName()), upstreamFileKey("foo", foo.wheelName()) + ".metadata",
		upstreamFileKey("foo", foo.sdistName())} {
		if _, err := e.storage.Stat(ctx, k); err != nil {
			t.Errorf("%s not cached: %v", k, err)
		}
	}
}

// A local project shadows the upstream one of the same name entirely.
func TestProxyLocalShadowsUpstream(t *testing.T) {
	ctx := t.Context()
	_, _, up := originWith(t, dist{name: "foo", version: "1.0"}, dist{name: "bar", version: "1.0"})
	e := newProxyEnv(t, Config{}, up)
	e.mustUpload(ctx, dist{name: "foo", version: "2.0"})
	r := e.do(ctx, request{method: "GET", path: "/simple/foo/", token: adminToken})
	if r.status != 200 || !strings.Contains(r.body, "foo-2.0-py3-none-any.whl") || strings.Contains(r.body, "foo-1.0") {
		t.Fatalf("local page: %d %s", r.status, r.body)
	}
	if r := e.do(ctx, request{method: "GET", path: "/packages/foo/foo-1.0-py3-none-any.whl", token: adminToken}); r.status != 404 {
		t.Fatalf("upstream file of a local project: %d", r.status)
	}
	if r := e.do(ctx, request{method: "GET", path: "/simple/bar/", token: adminToken}); r.status != 200 ||
		!strings.Contains(r.body, "bar-1.0-py3-none-any.whl") {
		t.Fatalf("upstream project: %d %s", r.status, r.body)
	}
}

// fakeUpstream serves one project page (JSON) naming a wheel, and the
// wheel as body returns it.
func fakeUpstream(t *testing.T, page func(base string) any, body func() []byte) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/simple/foo/":
			w.Header().Set("Content-Type", ContentTypeJSON)
			json.NewEncoder(w).Encode(page("http://" + r.Host))
		case strings.HasPrefix(r.URL.Path, "/files/"):
			b := body()
			w.Header().Set("Content-Length", strconv.Itoa(len(b)+len(b)%2))
			w.Write(b)
			if len(b)%2 == 1 {
				panic(http.ErrAbortHandler) // cut off short of its Content-Length
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A truncated or lying upstream file fails the download and is never
// cached.
func TestProxyBadUpstreamFileNotCached(t *testing.T) {
	foo := dist{name: "foo", version: "1.0"}
	wheel := foo.wheel(t)
	good := sha256Hex(wheel)
	tests := []struct {
		name string
		hash string
		body []byte
	}{
		{"lying", good, append(append([]byte{}, wheel[:len(wheel)-1]...), wheel[len(wheel)-1]^1)},
		{"wrong hash", strings.Repeat("0", 64), wheel},
		{"truncated", good, wheel[:len(wheel)/2|1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			srv := fakeUpstream(t, func(base string) any {
				return map[string]any{"meta": map[string]string{"api-version": "1.0"}, "name": "foo", "files": []any{
					map[string]any{"filename": foo.wheelName(), "url": base + "/files/" + foo.wheelName(),
						"hashes": map[string]string{"sha256": tt.hash}}}}
			}, func() []byte { return tt.body })
			e := newProxyEnv(t, Config{}, core.Upstream{Name: "fake", URL: srv.URL})
			req := &core.RequestContext{Method: "GET", Path: "/packages/foo/" + foo.wheelName(), Header: http.Header{},
				Actor: &core.Actor{}, BaseURL: testBaseURL}
			req.Header.Set("Authorization", basicAuth("__token__", adminToken))
			resp := e.handle(ctx, req)
			if resp.Status == 200 && resp.Body != nil {
				_, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil {
					t.Fatal("a bad upstream body was served whole")
				}
			}
			if _, err := e.storage.Stat(ctx, upstreamFileKey("foo", foo.wheelName())); !errors.Is(err, core.ErrNotFound) {
				t.Fatalf("bad body cached: %v", err)
			}
		})
	}
}

// With the upstream down, the stale page and the cached files are served.
func TestProxyServesStaleWhenUpstreamDown(t *testing.T) {
	ctx := t.Context()
	foo := dist{name: "foo", version: "1.0"}
	_, srv, up := originWith(t, foo)
	e := newProxyEnv(t, Config{Upstream: upstream.Policy{MetadataTTL: time.Millisecond}}, up)
	get := func(path string) response {
		return e.do(ctx, request{method: "GET", path: path, token: adminToken, header: map[string]string{"Accept": pipAccept}})
	}
	if r := get("/packages/foo/" + foo.wheelName()); r.status != 200 {
		t.Fatalf("first download: %d %s", r.status, r.body)
	}
	srv.Close()
	time.Sleep(2 * time.Millisecond) // past the TTL: the page is stale now
	if r := get("/simple/foo/"); r.status != 200 || !strings.Contains(r.body, foo.wheelName()) {
		t.Fatalf("stale page: %d %s", r.status, r.body)
	}
	if r := get("/packages/foo/" + foo.wheelName()); r.status != 200 || r.body != string(foo.wheel(t)) {
		t.Fatalf("cached wheel: %d", r.status)
	}
	if r := get("/packages/foo/" + foo.sdistName()); r.status < 500 {
		t.Fatalf("uncached sdist with the upstream down: %d", r.status)
	}
}

// NewNamesNeedWrite: a reader cannot make the registry fetch a new name.
func TestProxyNewNamesNeedWrite(t *testing.T) {
	ctx := t.Context()
	_, _, up := originWith(t, dist{name: "foo", version: "1.0"})
	e := newProxyEnv(t, Config{Upstream: upstream.Policy{NewNamesNeedWrite: true}}, up)
	if r := e.do(ctx, request{method: "GET", path: "/simple/foo/", token: fooReader}); r.status != 403 {
		t.Fatalf("reader fetching a new name: %d %s", r.status, r.body)
	}
	if r := e.do(ctx, request{method: "GET", path: "/simple/foo/", token: fooWriter}); r.status != 200 {
		t.Fatalf("writer: %d %s", r.status, r.body)
	}
	if r := e.do(ctx, request{method: "GET", path: "/simple/foo/", token: fooReader}); r.status != 200 {
		t.Fatalf("reader once cached: %d %s", r.status, r.body)
	}
}

func TestParseUpstreamPage(t *testing.T) {
	const sum = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	tests := []struct {
		name string
		body string
		want []upstreamFile
	}{
		{"html", `<!DOCTYPE html><html><body>
<a href="../../packages/foo/foo-1.0-py3-none-any.whl#sha256=` + sum + `" data-requires-python="&gt;=3.8" data-dist-info-metadata="sha256=` + sum + `">foo-1.0-py3-none-any.whl</a><br/>
<A HREF='https://files.example/foo-1.0.tar.gz#sha256=` + sum + `' data-yanked="broken">foo-1.0.tar.gz</A>
<a href="/evil">../../etc/passwd</a>
<a href="javascript:alert(1)">foo-2.0.tar.gz</a>
</body></html>`, []upstreamFile{
			{Filename: "foo-1.0-py3-none-any.whl", URL: "http://up.test/pypi/packages/foo/foo-1.0-py3-none-any.whl",
				Hashes: map[string]string{"sha256": sum}, RequiresPython: ">=3.8", HasMetadata: true, Metadata: map[string]string{"sha256": sum}},
			{Filename: "foo-1.0.tar.gz", URL: "https://files.example/foo-1.0.tar.gz", Hashes: map[string]string{"sha256": sum},
				Yanked: true, YankedReason: "broken"},
		}},
		{"json", `{"meta":{"api-version":"1.1"},"name":"Foo","files":[
{"filename":"foo-1.0-py3-none-any.whl","url":"../../packages/foo/foo-1.0-py3-none-any.whl","hashes":{"sha256":"` + sum + `"},"core-metadata":true,"yanked":true,"size":12},
{"filename":"foo-1.0.tar.gz","url":"x/foo-1.0.tar.gz","hashes":{},"dist-info-metadata":{"sha256":"` + sum + `"},"yanked":"why"}]}`, []upstreamFile{
			{Filename: "foo-1.0-py3-none-any.whl", URL: "http://up.test/pypi/packages/foo/foo-1.0-py3-none-any.whl",
				Hashes: map[string]string{"sha256": sum}, HasMetadata: true, Yanked: true, Size: 12},
			{Filename: "foo-1.0.tar.gz", URL: "http://up.test/pypi/simple/foo/x/foo-1.0.tar.gz", Hashes: map[string]string{},
				HasMetadata: true, Metadata: map[string]string{"sha256": sum}, Yanked: true, YankedReason: "why"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parseUpstreamPage("foo", "http://up.test/pypi/simple/foo/", []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(p.Files)
			want, _ := json.Marshal(tt.want)
			if string(got) != string(want) {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
		})
	}
	if _, err := parseUpstreamPage("foo", "http://up.test/simple/foo/", []byte(`{"name":"bar","files":[]}`)); err == nil {
		t.Fatal("a page of another project was accepted")
	}
}

// FuzzParseUpstreamPage: any upstream body parses or fails cleanly, keeps
// only files this registry can serve, and renders in both variants.
func FuzzParseUpstreamPage(f *testing.F) {
	f.Add([]byte(`<a href="../../packages/foo/foo-1.0.tar.gz#sha256=ab" data-core-metadata="sha256=cd" data-yanked>foo-1.0.tar.gz</a>`))
	f.Add([]byte(`{"name":"foo","files":[{"filename":"foo-1.0.tar.gz","url":"/x","hashes":{"sha256":"ab"},"core-metadata":{"sha256":"cd"},"yanked":"r"}]}`))
	f.Add([]byte(`<A HREF='x'>foo-1.0-py3-none-any.whl</a><a href=y>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := parseUpstreamPage("foo", "http://up.test/simple/foo/", body)
		if err != nil {
			return
		}
		for _, file := range p.Files {
			if _, err := ParseFilename(file.Filename); err != nil {
				t.Fatalf("kept %q: %v", file.Filename, err)
			}
			if !strings.HasPrefix(file.URL, "http://") && !strings.HasPrefix(file.URL, "https://") || strings.Contains(file.URL, "#") {
				t.Fatalf("kept URL %q", file.URL)
			}
		}
		for _, v := range []variant{variantHTML, variantJSON} {
			if _, err := renderUpstreamPage("foo", p, v); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// With Policy.Merge a local project also shows the upstream's files of the
// versions it lacks; local versions win.
func TestProxyMerge(t *testing.T) {
	ctx := t.Context()
	up1, up2 := dist{name: "foo", version: "1.0"}, dist{name: "foo", version: "2.0", requiresPython: ">=3.99"}
	_, _, up := originWith(t, up1, up2)
	e := newProxyEnv(t, Config{Upstream: upstream.Policy{Merge: true}}, up)
	local2 := dist{name: "foo", version: "2.0"}
	e.mustUpload(ctx, local2)
	r := e.do(ctx, request{method: "GET", path: "/simple/foo/", token: adminToken, header: map[string]string{"Accept": pipAccept}})
	for _, want := range []string{`"filename":"foo-1.0-py3-none-any.whl"`, `"hashes":{"sha256":"` + sha256Hex(up1.wheel(t)) + `"}`,
		`"hashes":{"sha256":"` + sha256Hex(local2.wheel(t)) + `"}`, `"versions":["1.0","2.0"]`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("merged page lacks %s:\n%s", want, r.body)
		}
	}
	if strings.Contains(r.body, sha256Hex(up2.wheel(t))) || strings.Contains(r.body, ">=3.99") {
		t.Errorf("the upstream's 2.0 shows beside the local one:\n%s", r.body)
	}
	if r := e.do(ctx, request{method: "GET", path: "/packages/foo/" + up1.wheelName(), token: adminToken}); r.status != 200 || r.body != string(up1.wheel(t)) {
		t.Fatalf("upstream file of a merged project: %d", r.status)
	}
	if r := e.do(ctx, request{method: "GET", path: "/packages/foo/" + local2.wheelName(), token: adminToken}); r.status != 200 || r.body != string(local2.wheel(t)) {
		t.Fatalf("local file of a merged project: %d", r.status)
	}
	// Without Merge the local project shadows the upstream one.
	plain := newProxyEnv(t, Config{}, up)
	plain.mustUpload(ctx, local2)
	if r := plain.do(ctx, request{method: "GET", path: "/simple/foo/", token: adminToken}); strings.Contains(r.body, "foo-1.0") {
		t.Fatalf("not merging, yet the upstream's 1.0 shows:\n%s", r.body)
	}
}

// Storage hooks see the cache fills with their kinds, project and version;
// a hook that refuses the fill (a quota) leaves the download working,
// uncached.
func TestProxyCacheFillsGoThroughHooks(t *testing.T) {
	ctx := t.Context()
	foo := dist{name: "hooked", version: "1.0"}
	_, _, up := originWith(t, foo)
	fills := handlertest.NewFillHooks()
	e := newProxyEnvOn(t, memory.New(), fills.Hooks(), Config{}, up)
	wheel := foo.wheel(t)
	fills.RefusedThenAllowed(t, e.storage, upstreamFileKey("hooked", foo.wheelName()), func() {
		for range 2 {
			if r := e.do(ctx, request{method: "GET", path: "/packages/hooked/" + foo.wheelName(), token: adminToken}); r.status != 200 || r.body != string(wheel) {
				t.Fatalf("download: %d, %d bytes", r.status, len(r.body))
			}
		}
	})
	fills.MustHaveSeen(t, "metadata hooked ", "artifact hooked 1.0")
}

// The JSON API of a project held only upstream is built from its proxied
// page: files with our URLs and the page's digests, info from the core
// metadata fetched through the cache, releases yanked as the page says.
func TestProxyJSONAPI(t *testing.T) {
	ctx := t.Context()
	v1, v2 := dist{name: "Foo", version: "1.0"}, dist{name: "Foo", version: "2.0", requires: []string{"bar>=1"}, requiresPython: ">=3.8"}
	origin, _, up := originWith(t, v1, v2)
	if r := origin.do(ctx, request{method: http.MethodPut, path: "/foo/1.0/yank", token: adminToken}); r.status/100 != 2 {
		t.Fatalf("yank upstream 1.0: %d %s", r.status, r.body)
	}
	e := newProxyEnv(t, Config{}, up)
	var doc jsonProject
	r := e.do(ctx, request{method: http.MethodGet, path: "/foo/json", token: adminToken})
	if r.status != http.StatusOK {
		t.Fatalf("GET /foo/json: %d %s", r.status, r.body)
	}
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Info.Name != "Foo" || doc.Info.Version != "2.0" || doc.Info.Summary != "test package Foo" ||
		len(doc.Info.RequiresDist) != 1 || doc.Info.RequiresPython != ">=3.8" {
		t.Errorf("info: %+v", doc.Info)
	}
	if len(doc.Releases) != 2 || len(doc.URLs) != 2 { // a wheel and an sdist each
		t.Fatalf("releases %v, urls %v", doc.Releases, doc.URLs)
	}
	if f := doc.Releases["1.0"]; len(f) != 2 || !f[0].Yanked {
		t.Errorf("1.0 not yanked: %+v", f)
	}
	u := doc.URLs[0]
	if u.PackageType != TypeWheel {
		u = doc.URLs[1]
	}
	if _, ok := u.Digests["md5"]; ok {
		t.Errorf("a digest the page does not give: %v", u.Digests)
	}
	if u.URL != testBaseURL+"/packages/foo/"+v2.wheelName() || u.Digests["sha256"] != sha256Hex(v2.wheel(t)) || u.Size != int64(len(v2.wheel(t))) {
		t.Errorf("url: %+v", u)
	}
	if d := e.do(ctx, request{method: http.MethodGet, path: strings.TrimPrefix(u.URL, testBaseURL), token: adminToken}); d.status != http.StatusOK || d.body != string(v2.wheel(t)) {
		t.Errorf("download from the JSON API's url: %d", d.status)
	}
	if _, err := e.storage.Stat(ctx, upstreamFileKey("foo", v2.wheelName())+".metadata"); err != nil {
		t.Errorf("metadata not cached: %v", err)
	}
	var rel jsonProject
	r = e.do(ctx, request{method: http.MethodGet, path: "/foo/1.0/json", token: adminToken})
	if err := json.Unmarshal([]byte(r.body), &rel); r.status != http.StatusOK || err != nil {
		t.Fatalf("GET /foo/1.0/json: %d %s", r.status, r.body)
	}
	if rel.Info.Version != "1.0" || !rel.Info.Yanked || len(rel.URLs) != 2 || rel.Releases != nil {
		t.Errorf("release JSON: %+v", rel)
	}
	for _, tc := range []struct {
		path, token string
		status      int
	}{
		{"/foo/3.0/json", adminToken, http.StatusNotFound},
		{"/nowhere/json", adminToken, http.StatusNotFound},
		{"/foo/json", "", http.StatusUnauthorized},
	} {
		if r := e.do(ctx, request{method: http.MethodGet, path: tc.path, token: tc.token}); r.status != tc.status {
			t.Errorf("%s: %d, want %d", tc.path, r.status, tc.status)
		}
	}
	// The root index lists what this registry holds, not what it proxied.
	if r := e.do(ctx, request{method: http.MethodGet, path: "/simple/", token: adminToken}); strings.Contains(r.body, "foo") {
		t.Errorf("a proxied project in /simple/:\n%s", r.body)
	}
}
