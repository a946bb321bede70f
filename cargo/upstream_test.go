package cargo

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/internal/handlertest"
	"github.com/smartregistry/smartregistry/upstream"
)

// serveEnv serves a test handler over HTTP at /cargo, as the example
// server does: the upstream registry of a proxy test.
func serveEnv(t testing.TB, e *testEnv) *httptest.Server {
	return handlertest.ServeAt(t, e.h, "/cargo")
}

// newProxyEnv returns a test handler (auth on) proxying the given
// upstreams, on a memory backend.
func newProxyEnv(t testing.TB, cfg Config, ups ...core.Upstream) *testEnv {
	t.Helper()
	return newProxyEnvOn(t, memory.New(), noHooks, cfg, ups...)
}

// newProxyEnvOn is newProxyEnv on backend, with storage hooks.
func newProxyEnvOn(t testing.TB, backend core.Backend, hooks core.StorageHooks, cfg Config, ups ...core.Upstream) *testEnv {
	t.Helper()
	e := newTestEnvOn(t, backend, false, hooks)
	prov := handlertest.Upstreams(t, core.ProtocolCargo, ups...)
	h, err := New(core.Deps{Storage: e.storage, Auth: e.h.deps.Auth, Upstream: prov,
		Logger: slog.New(slog.DiscardHandler)}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	e.h = h
	return e
}

// originWith is an upstream registry (auth on) holding crates, served over
// HTTP; it returns the upstream that reaches it with the admin's token.
func originWith(t testing.TB, crates ...testCrate) (*testEnv, *httptest.Server, core.Upstream) {
	origin := newTestEnv(t, false)
	for _, c := range crates {
		origin.mustPublish(context.Background(), c)
	}
	srv := serveEnv(t, origin)
	return origin, srv, core.Upstream{Name: "origin", URL: srv.URL + "/cargo", Token: adminToken}
}

func TestProxyServesUpstreamCrates(t *testing.T) {
	ctx := t.Context()
	foo := testCrate{name: "foo", vers: "1.0.0"}
	origin, srv, up := originWith(t, foo, testCrate{name: "Bar_Baz", vers: "0.1.0"})
	e := newProxyEnv(t, Config{}, up)

	// A read-only scope is enough to fetch; lines (cksum included) are
	// the upstream's, byte for byte.
	r := e.do(ctx, request{method: http.MethodGet, path: "/3/f/foo", token: fooReader})
	want := origin.get(ctx, "/3/f/foo")
	if r.status != http.StatusOK || r.body != want.body || !strings.Contains(r.body, sha256Hex(foo.crateFile(t))) {
		t.Fatalf("index file: %d %q, want %q", r.status, r.body, want.body)
	}
	etag := r.header.Get("ETag")
	if nm := e.do(ctx, request{method: http.MethodGet, path: "/3/f/foo", token: fooReader,
		header: map[string]string{"If-None-Match": etag}}); nm.status != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d", nm.status)
	}
	// config.json stays ours: downloads come back here.
	if c := e.get(ctx, "/config.json"); !strings.Contains(c.body, `"dl":"`+testBaseURL+`/api/v1/crates"`) ||
		strings.Contains(c.body, srv.URL) {
		t.Fatalf("config.json: %s", c.body)
	}
	for range 2 {
		d := e.do(ctx, request{method: http.MethodGet, path: "/api/v1/crates/foo/1.0.0/download", token: fooReader})
		if d.status != http.StatusOK || d.body != string(foo.crateFile(t)) {
			t.Fatalf("download: %d, %d bytes", d.status, len(d.body))
		}
	}
	if _, err := e.storage.Stat(ctx, upstreamFileKey("foo", "1.0.0")); err != nil {
		t.Fatalf("crate not cached: %v", err)
	}
	// Mixed case and "_" spellings, as cargo asks for them.
	if r := e.get(ctx, "/ba/r_/bar_baz"); r.status != http.StatusOK || !strings.Contains(r.body, `"name":"Bar_Baz"`) {
		t.Fatalf("Bar_Baz index: %d %s", r.status, r.body)
	}
	if d := e.get(ctx, "/api/v1/crates/Bar_Baz/0.1.0/download"); d.status != http.StatusOK {
		t.Fatalf("Bar_Baz download: %d %s", d.status, d.body)
	}
	for _, tc := range []struct {
		path, token string
		status      int
	}{
		{"/api/v1/crates/foo/2.0.0/download", adminToken, http.StatusNotFound},
		{"/no/wh/nowhere", adminToken, http.StatusNotFound},
		{"/api/v1/crates/nowhere/1.0.0/download", adminToken, http.StatusNotFound},
		{"/api/v1/crates/-bad-/1.0.0/download", adminToken, http.StatusNotFound},
		{"/3/f/foo", "", http.StatusUnauthorized},
		{"/ba/r_/bar_baz", fooReader, http.StatusForbidden},
	} {
		if r := e.do(ctx, request{method: http.MethodGet, path: tc.path, token: tc.token}); r.status != tc.status {
			t.Errorf("%s as %q: %d %s, want %d", tc.path, tc.token, r.status, r.body, tc.status)
		}
	}
}

// tryDownload GETs path as the admin, returning a failed read (or request)
// as err.
func (e *testEnv) tryDownload(ctx context.Context, path string) (int, []byte, error) {
	req := &core.RequestContext{Method: http.MethodGet, Path: path, Header: http.Header{"Authorization": {adminToken}},
		Actor: &core.Actor{}, BaseURL: testBaseURL}
	return handlertest.Try(ctx, e.h, req)
}

// A local crate shadows the upstream crate of the same name.
func TestProxyLocalCrateShadowsUpstream(t *testing.T) {
	ctx := t.Context()
	_, _, up := originWith(t, testCrate{name: "shadowed", vers: "9.0.0"})
	e := newProxyEnv(t, Config{}, up)
	e.mustPublish(ctx, testCrate{name: "shadowed", vers: "1.0.0"})
	lines := e.indexLines(ctx, "shadowed")
	if len(lines) != 1 || lines[0].Vers != "1.0.0" {
		t.Fatalf("index: %+v", lines)
	}
	if r := e.get(ctx, "/api/v1/crates/shadowed/9.0.0/download"); r.status != http.StatusNotFound {
		t.Fatalf("upstream crate of a local crate: %d", r.status)
	}
}

// With Merge, a local crate's index file also lists the upstream's
// versions it lacks (local lines win, a version deleted locally stays
// gone), and their .crate files download through the cache, checked
// against the upstream's cksum; without Merge the local crate shadows the
// upstream one.
func TestProxyMergesLocalAndUpstreamVersions(t *testing.T) {
	ctx := t.Context()
	up1 := testCrate{name: "mixed", vers: "1.0.0"}
	up2 := testCrate{name: "mixed", vers: "2.0.0", payload: 100}
	up4 := testCrate{name: "mixed", vers: "4.0.0"}
	origin, _, up := originWith(t, up1, up2, up4)
	e := newProxyEnv(t, Config{Upstream: upstream.Policy{Merge: true}}, up)
	local2 := testCrate{name: "mixed", vers: "2.0.0", payload: 200}
	for _, c := range []testCrate{local2, {name: "mixed", vers: "3.0.0"}, {name: "mixed", vers: "4.0.0"}} {
		e.mustPublish(ctx, c)
	}
	if r := e.do(ctx, request{method: http.MethodDelete, path: "/api/v1/crates/mixed/4.0.0", token: adminToken}); r.status != http.StatusOK {
		t.Fatalf("delete 4.0.0: %d %s", r.status, r.body)
	}
	lines := e.indexLines(ctx, "mixed")
	got := map[string]string{}
	for _, l := range lines {
		got[l.Vers] = l.Cksum
	}
	want := map[string]string{"1.0.0": sha256Hex(up1.crateFile(t)), "2.0.0": sha256Hex(local2.crateFile(t)),
		"3.0.0": sha256Hex(testCrate{name: "mixed", vers: "3.0.0"}.crateFile(t))}
	if len(got) != len(want) || len(lines) != len(want) {
		t.Fatalf("merged index: %+v", lines)
	}
	for v, sum := range want {
		if got[v] != sum {
			t.Errorf("%s: cksum %s, want %s", v, got[v], sum)
		}
	}
	// The upstream line is served byte for byte.
	if o := origin.get(ctx, "/mi/xe/mixed"); !strings.Contains(e.get(ctx, "/mi/xe/mixed").body, strings.SplitN(o.body, "\n", 2)[0]+"\n") {
		t.Fatalf("upstream line rewritten")
	}
	r := e.get(ctx, "/mi/xe/mixed")
	if nm := e.do(ctx, request{method: http.MethodGet, path: "/mi/xe/mixed", token: adminToken,
		header: map[string]string{"If-None-Match": r.header.Get("ETag")}}); nm.status != http.StatusNotModified {
		t.Fatalf("If-None-Match on a merged file: %d", nm.status)
	}
	for _, tc := range []struct {
		vers   string
		status int
		body   []byte
	}{
		{"1.0.0", http.StatusOK, up1.crateFile(t)},
		{"2.0.0", http.StatusOK, local2.crateFile(t)},
		{"4.0.0", http.StatusNotFound, nil},
		{"9.0.0", http.StatusNotFound, nil},
	} {
		d := e.get(ctx, "/api/v1/crates/mixed/"+tc.vers+"/download")
		if d.status != tc.status || (tc.body != nil && d.body != string(tc.body)) {
			t.Errorf("download %s: %d, %d bytes", tc.vers, d.status, len(d.body))
		}
	}
	if _, err := e.storage.Stat(ctx, upstreamFileKey("mixed", "1.0.0")); err != nil {
		t.Fatalf("upstream crate of a merged crate not cached: %v", err)
	}
	// A new local version changes the merged file (and its ETag).
	e.mustPublish(ctx, testCrate{name: "mixed", vers: "5.0.0"})
	if r2 := e.get(ctx, "/mi/xe/mixed"); r2.header.Get("ETag") == r.header.Get("ETag") || !strings.Contains(r2.body, `"vers":"5.0.0"`) {
		t.Fatalf("after a publish: %s %s", r2.header.Get("ETag"), r2.body)
	}

	// Without Merge the local crate shadows the upstream one.
	plain := newProxyEnv(t, Config{}, up)
	plain.mustPublish(ctx, local2)
	if l := plain.indexLines(ctx, "mixed"); len(l) != 1 || l[0].Vers != "2.0.0" {
		t.Fatalf("not merging: %+v", l)
	}
	if d := plain.get(ctx, "/api/v1/crates/mixed/1.0.0/download"); d.status != http.StatusNotFound {
		t.Fatalf("not merging, yet the upstream's 1.0.0 downloads: %d", d.status)
	}
}

// A truncated or mismatching upstream .crate fails the download and is
// never cached.
func TestProxyRefusesBadCrates(t *testing.T) {
	for _, mode := range []string{"short", "wrong"} {
		t.Run(mode, func(t *testing.T) {
			ctx := t.Context()
			c := testCrate{name: "liar", vers: "1.0.0", payload: 20_000}
			_, inner, _ := originWith(t, c)
			var asked atomic.Int32
			liar := handlertest.LyingUpstream(t, inner, mode, func(p string) bool { return strings.HasSuffix(p, "/download") }, &asked)
			e := newProxyEnv(t, Config{}, core.Upstream{Name: "liar", URL: liar.URL + "/cargo", Token: adminToken})
			for range 2 {
				status, body, err := e.tryDownload(ctx, "/api/v1/crates/liar/1.0.0/download")
				if err == nil || (status == http.StatusOK && bytes.Equal(body, c.crateFile(t))) {
					t.Fatalf("a bad crate was served: %d, %d bytes, %v", status, len(body), err)
				}
			}
			if _, err := e.storage.Stat(ctx, upstreamFileKey("liar", "1.0.0")); !errors.Is(err, core.ErrNotFound) {
				t.Fatalf("a bad crate was cached: %v", err)
			}
			if asked.Load() < 2 { // the second download was not served from a cache
				t.Fatalf("the liar was asked %d times", asked.Load())
			}
		})
	}
}

// Past the TTL a newer upstream version shows; with the upstream down, the
// stale index file and the cached crates are served.
func TestProxyTTLAndStale(t *testing.T) {
	ctx := t.Context()
	origin, srv, up := originWith(t, testCrate{name: "moving", vers: "1.0.0"})
	e := newProxyEnv(t, Config{Upstream: upstream.Policy{MetadataTTL: time.Hour}}, up)
	now := time.Now()
	e.h.up = mustClientAt(t, e, up, &now)
	if lines := e.indexLines(ctx, "moving"); len(lines) != 1 {
		t.Fatalf("index: %+v", lines)
	}
	if r := e.get(ctx, "/api/v1/crates/moving/1.0.0/download"); r.status != http.StatusOK {
		t.Fatalf("download: %d %s", r.status, r.body)
	}
	origin.mustPublish(ctx, testCrate{name: "moving", vers: "1.1.0"})
	if lines := e.indexLines(ctx, "moving"); len(lines) != 1 {
		t.Fatalf("refreshed before the TTL: %+v", lines)
	}
	now = now.Add(2 * time.Hour)
	if lines := e.indexLines(ctx, "moving"); len(lines) != 2 || lines[1].Vers != "1.1.0" {
		t.Fatalf("after the TTL: %+v", lines)
	}
	srv.Close()
	now = now.Add(2 * time.Hour)
	if lines := e.indexLines(ctx, "moving"); len(lines) != 2 {
		t.Fatalf("stale: %+v", lines)
	}
	if r := e.get(ctx, "/api/v1/crates/moving/1.0.0/download"); r.status != http.StatusOK {
		t.Fatalf("cached download, upstream down: %d %s", r.status, r.body)
	}
	if r := e.get(ctx, "/api/v1/crates/moving/1.1.0/download"); r.status != http.StatusServiceUnavailable {
		t.Fatalf("uncached download, upstream down: %d %s", r.status, r.body)
	}
}

// mustClientAt is the handler's upstream client with a clock.
func mustClientAt(t *testing.T, e *testEnv, up core.Upstream, now *time.Time) *upstream.Client {
	return handlertest.UpstreamClient(t, upstream.Config{Protocol: core.ProtocolCargo, Storage: e.storage,
		Provider: handlertest.Upstreams(t, core.ProtocolCargo, up), Policy: e.h.cfg.Upstream, Now: func() time.Time { return *now }})
}

// Scope rules send two names to two upstreams; a name is never asked of
// the upstream its rules exclude.
func TestProxyScopeRules(t *testing.T) {
	ctx := t.Context()
	_, _, private := originWith(t, testCrate{name: "acme-core", vers: "2.0.0"})
	_, _, public := originWith(t, testCrate{name: "acme-core", vers: "6.6.6"}, testCrate{name: "serde", vers: "1.0.0"})
	private.Name, private.Include = "private", []string{"acme-*"}
	public.Name, public.Exclude = "public", []string{"acme-*"}
	public.Priority = 1
	e := newProxyEnv(t, Config{}, private, public)
	if l := e.indexLines(ctx, "acme-core"); len(l) != 1 || l[0].Vers != "2.0.0" {
		t.Fatalf("acme-core: %+v", l)
	}
	if l := e.indexLines(ctx, "serde"); len(l) != 1 || l[0].Vers != "1.0.0" {
		t.Fatalf("serde: %+v", l)
	}
	for _, p := range []string{"/api/v1/crates/acme-core/2.0.0/download", "/api/v1/crates/serde/1.0.0/download"} {
		if r := e.get(ctx, p); r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", p, r.status, r.body)
		}
	}
	if r := e.get(ctx, "/api/v1/crates/acme-core/6.6.6/download"); r.status != http.StatusNotFound {
		t.Fatalf("excluded upstream asked: %d", r.status)
	}
}

// With NewNamesNeedWrite a reader cannot make the registry fetch a crate
// nothing has cached, but reads it once a writer has.
func TestProxyNewNamesNeedWrite(t *testing.T) {
	ctx := t.Context()
	_, _, up := originWith(t, testCrate{name: "foo", vers: "1.0.0"})
	e := newProxyEnv(t, Config{Upstream: upstream.Policy{NewNamesNeedWrite: true}}, up)
	if r := e.do(ctx, request{method: http.MethodGet, path: "/3/f/foo", token: fooReader}); r.status != http.StatusForbidden {
		t.Fatalf("reader fetching a new name: %d %s", r.status, r.body)
	}
	if r := e.get(ctx, "/3/f/foo"); r.status != http.StatusOK {
		t.Fatalf("writer: %d %s", r.status, r.body)
	}
	if r := e.do(ctx, request{method: http.MethodGet, path: "/api/v1/crates/foo/1.0.0/download", token: fooReader}); r.status != http.StatusOK {
		t.Fatalf("reader of a cached name: %d %s", r.status, r.body)
	}
}

func TestDLURL(t *testing.T) {
	for _, tc := range []struct{ dl, want string }{
		{"http://h/api/v1/crates", "http://h/api/v1/crates/Serde_X/1.0.0/download"},
		{"http://h/api/v1/crates/", "http://h/api/v1/crates/Serde_X/1.0.0/download"},
		{"https://s/{prefix}/{lowerprefix}/{crate}/{crate}-{version}.crate?c={sha256-checksum}",
			"https://s/Se/rd/se/rd/Serde_X/Serde_X-1.0.0.crate?c=abc"},
	} {
		if got := dlURL(tc.dl, "Serde_X", "1.0.0", "abc"); got != tc.want {
			t.Errorf("dlURL(%q) = %q, want %q", tc.dl, got, tc.want)
		}
	}
	if got := dlURL("https://s/{prefix}/{crate}", "ab", "1", ""); got != "https://s/2/ab" {
		t.Errorf("short name: %q", got)
	}
	if got := dlURL("https://s/{prefix}/{crate}", "Abc", "1", ""); got != "https://s/3/A/Abc" {
		t.Errorf("three letters: %q", got)
	}
}

// An upstream whose index file or config.json is malformed: nothing of it
// is cached or served, and the client gets 503.
func TestProxyRefusesBadUpstreamDocuments(t *testing.T) {
	ctx := t.Context()
	c := testCrate{name: "odd", vers: "1.0.0"}
	good := c.crateFile(t)
	for _, tc := range []struct {
		name, index, config, path string
	}{
		{"not JSON", "not json\n", "", "/3/o/odd"},
		{"another crate", `{"name":"even","vers":"1.0.0","cksum":"` + sha256Hex(good) + `"}` + "\n", "", "/3/o/odd"},
		{"bad cksum", `{"name":"odd","vers":"1.0.0","cksum":"abc"}` + "\n", "", "/3/o/odd"},
		{"empty", "\n", "", "/3/o/odd"},
		{"dl not a URL", `{"name":"odd","vers":"1.0.0","cksum":"` + sha256Hex(good) + `"}` + "\n", `{"dl":"/relative"}`,
			"/api/v1/crates/odd/1.0.0/download"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/cargo/3/o/odd":
					io.WriteString(w, tc.index)
				case "/cargo/config.json":
					io.WriteString(w, tc.config)
				default:
					w.Write(good)
				}
			}))
			t.Cleanup(srv.Close)
			e := newProxyEnv(t, Config{}, core.Upstream{Name: "odd", URL: srv.URL + "/cargo"})
			if r := e.get(ctx, tc.path); r.status != http.StatusServiceUnavailable {
				t.Fatalf("%s: %d %s", tc.path, r.status, r.body)
			}
			refused := []string{upstreamConfigKey("odd"), upstreamFileKey("odd", "1.0.0")}
			if tc.config == "" {
				refused = append(refused, upstreamIndexKey("odd"))
			}
			for _, k := range refused {
				if _, err := e.storage.Stat(ctx, k); !errors.Is(err, core.ErrNotFound) {
					t.Errorf("%s cached: %v", k, err)
				}
			}
		})
	}
}

// FuzzUpstreamLines: any upstream index file is accepted or refused
// without panicking; an accepted one has only lines of the crate asked
// for, each with a sha256 cksum, and their download URLs stay below dl.
func FuzzUpstreamLines(f *testing.F) {
	f.Add("foo", `{"name":"foo","vers":"1.0.0","cksum":"`+strings.Repeat("ab", 32)+`"}`+"\n")
	f.Add("foo-bar", `{"name":"Foo_Bar","vers":"1.0.0","cksum":"`+strings.Repeat("ab", 32)+`"}`)
	f.Add("foo", "{\n")
	f.Fuzz(func(t *testing.T, crate, body string) {
		lines, err := upstreamLines(crate, []byte(body))
		if err != nil {
			return
		}
		for _, l := range lines {
			if NormalizeName(l.Name) != crate || len(l.Cksum) != 64 {
				t.Fatalf("accepted %+v for %q", l, crate)
			}
			if u := dlURL("https://dl.test/crates", l.Name, l.Vers, l.Cksum); !strings.HasPrefix(u, "https://dl.test/crates/") {
				t.Fatalf("download URL %q", u)
			}
		}
	})
}
