package composer

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/handlertest"
	"github.com/smartregistry/smartregistry/upstream"
)

// newProxyEnv returns a test handler proxying the given upstreams, on a
// memory backend.
func newProxyEnv(t testing.TB, cfg Config, ups ...core.Upstream) *testEnv {
	t.Helper()
	return newProxyEnvOn(t, newMemory(), cfg, ups...)
}

// newProxyEnvOn is newProxyEnv on backend.
func newProxyEnvOn(t testing.TB, backend core.Backend, cfg Config, ups ...core.Upstream) *testEnv {
	t.Helper()
	e := newTestEnvOn(t, backend, noHooks, Config{})
	prov := handlertest.Upstreams(t, core.ProtocolComposer, ups...)
	h, err := New(core.Deps{Storage: e.storage, Auth: e.h.deps.Auth, Upstream: prov,
		Logger: slog.New(slog.DiscardHandler)}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close(t.Context()) })
	e.h = h
	return e
}

// p2Dists returns the expanded versions of a /p2/ file by version.
func p2Dists(t testing.TB, body string) map[string]map[string]string {
	t.Helper()
	var doc struct {
		Packages map[string][]map[string]json.RawMessage `json:"packages"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	out := map[string]map[string]string{}
	for _, vs := range doc.Packages {
		for _, v := range Expand(vs) {
			var version string
			var dist map[string]string
			json.Unmarshal(v["version"], &version)
			json.Unmarshal(v["dist"], &dist)
			out[version] = dist
		}
	}
	return out
}

func TestProxyServesUpstreamPackages(t *testing.T) {
	ctx := t.Context()
	origin := newTestEnv(t)
	zips := seed(t, origin)
	srv := origin.serve()
	e := newProxyEnv(t, Config{}, core.Upstream{Name: "origin", URL: srv.URL, Token: adminToken})

	// packages.json no longer limits composer to local packages.
	var root map[string]any
	e.do(ctx, request{method: "GET", path: "/packages.json", token: utilReader}).json(t, &root)
	if _, ok := root["available-packages"]; ok {
		t.Errorf("proxying packages.json has available-packages: %v", root)
	}

	// A read-only token is enough to fetch.
	r := e.do(ctx, request{method: "GET", path: "/p2/acme/util.json", token: utilReader})
	if r.status != http.StatusOK {
		t.Fatalf("GET p2: %d %s", r.status, r.body)
	}
	want := p2Dists(t, origin.do(ctx, request{method: "GET", path: "/p2/acme/util.json", token: adminToken}).body)
	got := p2Dists(t, r.body)
	if len(got) != 3 || len(got) != len(want) {
		t.Fatalf("versions: got %v, want %v", got, want)
	}
	for v, d := range got {
		w := want[v]
		if d["reference"] != w["reference"] || d["shasum"] != w["shasum"] || d["shasum"] == "" {
			t.Errorf("%s: dist %v, upstream's %v", v, d, w)
		}
		if wantURL := testBaseURL + "/dists/acme/util/" + d["reference"] + ".zip"; d["url"] != wantURL {
			t.Errorf("%s: url %s, want %s", v, d["url"], wantURL)
		}
	}
	dev := p2Dists(t, e.do(ctx, request{method: "GET", path: "/p2/acme/util~dev.json", token: utilReader}).body)
	if len(dev) != 2 {
		t.Errorf("dev versions: %v", dev)
	}

	// The zips come through us, byte for byte, and are cached.
	for v, d := range got {
		r := e.do(ctx, request{method: "GET", path: strings.TrimPrefix(d["url"], testBaseURL), token: utilReader})
		sum := sha1.Sum([]byte(r.body))
		if r.status != http.StatusOK || hex.EncodeToString(sum[:]) != d["shasum"] {
			t.Errorf("GET zip of %s: %d (%d bytes)", v, r.status, len(r.body))
		}
	}
	for v, d := range dev {
		r := e.do(ctx, request{method: "GET", path: strings.TrimPrefix(d["url"], testBaseURL), token: utilReader})
		if zip := zips["acme/util@"+strings.TrimPrefix(v, "")]; r.status != http.StatusOK || (zip != nil && r.body != string(zip)) {
			t.Errorf("GET zip of %s: %d", v, r.status)
		}
	}
	var cached int
	for _, k := range e.keys(ctx) {
		if strings.HasPrefix(k, upstreamPrefix+"dists/acme/util/") {
			cached++
		}
	}
	if cached != 5 {
		t.Errorf("%d zips cached, want 5: %v", cached, e.keys(ctx))
	}

	// The upstream's If-None-Match validator works at our end too.
	r = e.do(ctx, request{method: "GET", path: "/p2/acme/util.json", token: utilReader})
	if r2 := e.do(ctx, request{method: "GET", path: "/p2/acme/util.json", token: utilReader,
		header: map[string]string{"If-None-Match": r.header.Get("ETag")}}); r2.status != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", r2.status)
	}

	// Unknown names and references are 404, without credentials a 401.
	for _, c := range []struct {
		path, token string
		status      int
	}{
		{"/p2/acme/nothing.json", adminToken, http.StatusNotFound},
		{"/dists/acme/util/0000000000000000000000000000000000000000.zip", adminToken, http.StatusNotFound},
		{"/p2/acme/util.json", "", http.StatusUnauthorized},
		{"/p2/acme/app.json", utilReader, http.StatusForbidden},
	} {
		if r := e.do(ctx, request{method: "GET", path: c.path, token: c.token}); r.status != c.status {
			t.Errorf("GET %s: %d, want %d: %s", c.path, r.status, c.status, r.body)
		}
	}
}

func TestProxyLocalShadowsUpstream(t *testing.T) {
	ctx := t.Context()
	origin := newTestEnv(t)
	seed(t, origin)
	e := newProxyEnv(t, Config{}, core.Upstream{Name: "origin", URL: origin.serve().URL, Token: adminToken})
	e.mustUpload(ctx, pkg{name: "acme/util", version: "3.0.0"}, "")

	got := p2Dists(t, e.do(ctx, request{method: "GET", path: "/p2/acme/util.json", token: utilReader}).body)
	if len(got) != 1 || got["3.0.0"] == nil {
		t.Errorf("local package: versions %v, want only 3.0.0", got)
	}
	// Another package still comes from the upstream.
	if r := e.do(ctx, request{method: "GET", path: "/p2/acme/app.json", token: adminToken}); r.status != http.StatusOK {
		t.Errorf("upstream acme/app: %d %s", r.status, r.body)
	}
}

// With Merge, a local package's /p2/ files also list the upstream's
// versions it lacks, whose zips come through us; local versions win.
func TestProxyMergesLocalAndUpstreamVersions(t *testing.T) {
	ctx := t.Context()
	origin := newTestEnv(t)
	zips := seed(t, origin)
	up := core.Upstream{Name: "origin", URL: origin.serve().URL, Token: adminToken}
	upstreamDists := p2Dists(t, origin.do(ctx, request{method: "GET", path: "/p2/acme/util.json", token: adminToken}).body)
	e := newProxyEnv(t, Config{Upstream: upstream.Policy{Merge: true}}, up)
	local11 := pkg{name: "acme/util", label: "local 1.1.0"}
	e.mustUpload(ctx, local11, "1.1.0")
	e.mustUpload(ctx, pkg{name: "acme/util", version: "3.0.0"}, "")

	vs := e.versions(ctx, "acme/util.json")
	var order []string
	for _, v := range vs {
		var version string
		json.Unmarshal(v["version"], &version)
		order = append(order, version)
	}
	if want := []string{"3.0.0", "v2.0.0-beta1", "1.1.0", "1.0.0"}; !slices.Equal(order, want) {
		t.Fatalf("merged versions %v, want %v", order, want)
	}
	r := e.do(ctx, request{method: "GET", path: "/p2/acme/util.json", token: utilReader})
	got := p2Dists(t, r.body)
	if got["1.1.0"]["shasum"] != hexSHA1(string(local11.zip(t))) {
		t.Errorf("1.1.0 is not the local one: %v", got["1.1.0"])
	}
	for _, v := range []string{"1.0.0", "v2.0.0-beta1"} {
		d, w := got[v], upstreamDists[v]
		if d["shasum"] != w["shasum"] || d["reference"] != w["reference"] || d["url"] != testBaseURL+"/dists/acme/util/"+w["reference"]+".zip" {
			t.Errorf("%s: dist %v, upstream's %v", v, d, w)
		}
	}
	for _, tc := range []struct {
		url    string
		status int
		zip    []byte
	}{
		{got["1.0.0"]["url"], http.StatusOK, zips["acme/util@1.0.0"]},
		{got["1.1.0"]["url"], http.StatusOK, local11.zip(t)},
		{upstreamDists["1.1.0"]["url"], http.StatusNotFound, nil}, // the upstream's 1.1.0, shadowed
	} {
		path := "/dists/acme/util/" + tc.url[strings.LastIndexByte(tc.url, '/')+1:]
		d := e.do(ctx, request{method: "GET", path: path, token: utilReader})
		if d.status != tc.status || (tc.zip != nil && d.body != string(tc.zip)) {
			t.Errorf("GET %s: %d (%d bytes)", path, d.status, len(d.body))
		}
	}
	// The ~dev file has the upstream's branches, the local package none.
	if dev := p2Dists(t, e.do(ctx, request{method: "GET", path: "/p2/acme/util~dev.json", token: utilReader}).body); len(dev) != 2 {
		t.Errorf("merged dev versions: %v", dev)
	}
	// Last-Modified and If-Modified-Since, as for a local file.
	lm := r.header.Get("Last-Modified")
	if nm := e.do(ctx, request{method: "GET", path: "/p2/acme/util.json", token: utilReader,
		header: map[string]string{"If-Modified-Since": lm}}); lm == "" || nm.status != http.StatusNotModified {
		t.Errorf("If-Modified-Since %q: %d", lm, nm.status)
	}
	if old := e.do(ctx, request{method: "GET", path: "/p2/acme/util.json", token: utilReader,
		header: map[string]string{"If-Modified-Since": "Mon, 02 Jan 2006 15:04:05 GMT"}}); old.status != http.StatusOK {
		t.Errorf("old If-Modified-Since: %d", old.status)
	}
}

// A proxied /p2/ file carries the upstream's Last-Modified and an ETag,
// and answers If-Modified-Since and If-None-Match with 304 like a local
// file; list.json and search.json show local packages only.
func TestProxyFileValidators(t *testing.T) {
	ctx := t.Context()
	origin := newTestEnv(t)
	seed(t, origin)
	e := newProxyEnv(t, Config{}, core.Upstream{Name: "origin", URL: origin.serve().URL, Token: adminToken})
	e.mustUpload(ctx, pkg{name: "acme/local", version: "1.0.0"}, "")
	want := origin.do(ctx, request{method: "GET", path: "/p2/acme/util.json", token: adminToken}).header.Get("Last-Modified")
	r := e.do(ctx, request{method: "GET", path: "/p2/acme/util.json", token: utilReader})
	lm, etag := r.header.Get("Last-Modified"), r.header.Get("ETag")
	if r.status != http.StatusOK || want == "" || lm != want || etag == "" {
		t.Fatalf("proxied file: %d, Last-Modified %q (upstream's %q), ETag %q", r.status, lm, want, etag)
	}
	for _, tc := range []struct {
		header map[string]string
		status int
	}{
		{map[string]string{"If-Modified-Since": lm}, http.StatusNotModified},
		{map[string]string{"If-Modified-Since": "Mon, 02 Jan 2006 15:04:05 GMT"}, http.StatusOK},
		{map[string]string{"If-None-Match": etag}, http.StatusNotModified},
		{map[string]string{"If-None-Match": `"other"`, "If-Modified-Since": lm}, http.StatusOK},
	} {
		r := e.do(ctx, request{method: "GET", path: "/p2/acme/util.json", token: utilReader, header: tc.header})
		if r.status != tc.status || (r.status == http.StatusNotModified && r.header.Get("Last-Modified") != lm) {
			t.Errorf("%v: %d %v, want %d", tc.header, r.status, r.header, tc.status)
		}
	}
	// What was fetched is a cache, not a package of this registry.
	for _, path := range []string{"/packages/list.json", "/search.json?q=acme"} {
		if r := e.do(ctx, request{method: "GET", path: path, token: adminToken}); !strings.Contains(r.body, "acme/local") || strings.Contains(r.body, "acme/util") {
			t.Errorf("%s: %s", path, r.body)
		}
	}
}

func TestProxyNewNamesNeedWrite(t *testing.T) {
	ctx := t.Context()
	origin := newTestEnv(t)
	seed(t, origin)
	e := newProxyEnv(t, Config{Upstream: upstream.Policy{NewNamesNeedWrite: true}},
		core.Upstream{Name: "origin", URL: origin.serve().URL, Token: adminToken})
	if r := e.do(ctx, request{method: "GET", path: "/p2/acme/util.json", token: utilReader}); r.status != http.StatusForbidden {
		t.Errorf("reader, new name: %d", r.status)
	}
	if r := e.do(ctx, request{method: "GET", path: "/p2/acme/util.json", token: adminToken}); r.status != http.StatusOK {
		t.Errorf("admin, new name: %d", r.status)
	}
	if r := e.do(ctx, request{method: "GET", path: "/p2/acme/util.json", token: utilReader}); r.status != http.StatusOK {
		t.Errorf("reader, cached name: %d", r.status)
	}
}

// fakeUpstream serves a p2 file for acme/util 1.0.0 whose dist promises
// zip (its sha1) and a zip body that is served instead.
func fakeUpstream(t *testing.T, zip []byte, serve func(w http.ResponseWriter)) *httptest.Server {
	sum := sha1.Sum(zip)
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/packages.json":
			w.Write([]byte(`{"metadata-url":"/p2/%package%.json"}`))
		case "/p2/acme/util.json":
			fmt.Fprintf(w, `{"minified":"composer/2.0","packages":{"acme/util":[{"name":"acme/util","version":"1.0.0",`+
				`"dist":{"type":"zip","url":%q,"reference":"ref1","shasum":%q}}]}}`,
				srv.URL+"/zips/util.zip", hex.EncodeToString(sum[:]))
		case "/zips/util.zip":
			serve(w)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestProxyBadUpstreamZipNotCached(t *testing.T) {
	zip := pkg{name: "acme/util", version: "1.0.0"}.zip(t)
	for _, c := range []struct {
		name  string
		serve func(w http.ResponseWriter)
	}{
		{"lying", func(w http.ResponseWriter) {
			bad := slices.Clone(zip)
			bad[len(bad)/2] ^= 1
			w.Write(bad)
		}},
		{"truncated", func(w http.ResponseWriter) {
			w.Header().Set("Content-Length", strconv.Itoa(len(zip)))
			w.Write(zip[:len(zip)/2])
		}},
		{"truncated, no length", func(w http.ResponseWriter) {
			w.Write(zip[:len(zip)/2])
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := t.Context()
			srv := fakeUpstream(t, zip, c.serve)
			e := newProxyEnv(t, Config{}, core.Upstream{Name: "fake", URL: srv.URL})
			got := p2Dists(t, e.do(ctx, request{method: "GET", path: "/p2/acme/util.json", token: adminToken}).body)
			if u := got["1.0.0"]["url"]; u != testBaseURL+"/dists/acme/util/ref1.zip" {
				t.Fatalf("dist url %q", u)
			}
			// The handler's response fails: its status, or its body.
			ctx2 := core.WithActor(core.WithProtocol(ctx, core.ProtocolComposer), &core.Actor{})
			req := &core.RequestContext{Method: "GET", Path: "/dists/acme/util/ref1.zip", Header: http.Header{},
				Actor: &core.Actor{}, BaseURL: testBaseURL}
			req.Header.Set("Authorization", "Bearer "+adminToken)
			resp, err := e.h.Handle(ctx2, req)
			if err == nil {
				b := make([]byte, 0, len(zip))
				var rerr error
				buf := make([]byte, 4096)
				for {
					n, er := resp.Body.Read(buf)
					b = append(b, buf[:n]...)
					if er != nil {
						if er.Error() != "EOF" {
							rerr = er
						}
						break
					}
				}
				resp.Body.Close()
				if rerr == nil {
					t.Fatalf("a bad upstream zip was served whole (%d bytes)", len(b))
				}
			}
			for _, k := range e.keys(ctx) {
				// A fill's lease may outlive the failed response for a moment
				// (it expires anyway): it is no cached zip.
				if strings.HasSuffix(k, ".lease") {
					continue
				}
				if strings.Contains(k, "/dists/") || strings.HasPrefix(k, uploadsPrefix) {
					t.Errorf("left in storage: %s", k)
				}
			}
		})
	}
}

func TestProxyServesStaleWhenUpstreamDown(t *testing.T) {
	ctx := t.Context()
	origin := newTestEnv(t)
	seed(t, origin)
	srv := origin.serve()
	e := newProxyEnv(t, Config{Upstream: upstream.Policy{MetadataTTL: time.Nanosecond, RequestTimeout: 2 * time.Second}},
		core.Upstream{Name: "origin", URL: srv.URL, Token: adminToken})
	first := e.do(ctx, request{method: "GET", path: "/p2/acme/util.json", token: utilReader})
	if first.status != http.StatusOK {
		t.Fatalf("GET p2: %d %s", first.status, first.body)
	}
	d := p2Dists(t, first.body)["1.0.0"]
	zip := e.do(ctx, request{method: "GET", path: strings.TrimPrefix(d["url"], testBaseURL), token: utilReader})
	srv.Close()

	again := e.do(ctx, request{method: "GET", path: "/p2/acme/util.json", token: utilReader})
	if again.status != http.StatusOK || again.body != first.body {
		t.Errorf("upstream down: p2 %d %s", again.status, again.body)
	}
	if r := e.do(ctx, request{method: "GET", path: strings.TrimPrefix(d["url"], testBaseURL), token: utilReader}); r.status != http.StatusOK || r.body != zip.body {
		t.Errorf("upstream down: zip %d", r.status)
	}
	if r := e.do(ctx, request{method: "GET", path: "/p2/acme/app.json", token: adminToken}); r.status != http.StatusServiceUnavailable {
		t.Errorf("upstream down, never fetched: %d %s", r.status, r.body)
	}
}

func TestDistToken(t *testing.T) {
	for _, c := range []struct{ ref, url, want string }{
		{"abc123", "https://x/a.zip", "abc123"},
		{"", "https://x/a.zip", hexSHA1("https://x/a.zip")},
		{"a/b", "https://x/a.zip", hexSHA1("https://x/a.zip")},
		{"..", "https://x/a.zip", hexSHA1("https://x/a.zip")},
	} {
		if got := distToken(c.ref, c.url); got != c.want {
			t.Errorf("distToken(%q) = %q, want %q", c.ref, got, c.want)
		}
	}
}

func hexSHA1(s string) string {
	sum := sha1.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
