package npm

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/internal/handlertest"
	"github.com/smartregistry/smartregistry/upstream"
)

// serveEnv serves a test handler over HTTP, as the Registry would at the
// root of the server: the upstream registry of a proxy test.
func serveEnv(t testing.TB, e *testEnv) *httptest.Server { return handlertest.Serve(t, e.h) }

// newProxyEnv returns a test handler proxying the given upstreams, on a
// memory backend.
func newProxyEnv(t testing.TB, cfg Config, ups ...core.Upstream) *testEnv {
	return newProxyEnvOn(t, memory.New(), core.StorageHooks{}, cfg, ups...)
}

// newProxyEnvOn is newProxyEnv on backend, with storage hooks.
func newProxyEnvOn(t testing.TB, backend core.Backend, hooks core.StorageHooks, cfg Config, ups ...core.Upstream) *testEnv {
	t.Helper()
	e := newTestEnv(t, backend)
	e.storage = core.NewStorage(backend, hooks)
	h, err := New(core.Deps{Storage: e.storage, Auth: e.h.deps.Auth, Upstream: handlertest.Upstreams(t, core.ProtocolNPM, ups...)}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	e.h = h
	return e
}

func TestProxyServesUpstreamPackages(t *testing.T) {
	ctx := t.Context()
	origin := newTestEnv(t, nil)
	pub := newPublish(t, "@team/lib", "1.0.0")
	origin.publish(ctx, adminToken, pub)
	srv := serveEnv(t, origin)
	e := newProxyEnv(t, Config{}, core.Upstream{Name: "origin", URL: srv.URL, Token: adminToken})

	// A read-only token is enough to fetch.
	r := e.do(ctx, http.MethodGet, "/@team%2flib", readerToken, nil)
	if r.status != http.StatusOK {
		t.Fatalf("packument: %d %s", r.status, r.body)
	}
	want := testBase + "/@team/lib/-/lib-1.0.0.tgz"
	if !strings.Contains(string(r.body), `"tarball":"`+want+`"`) || !strings.Contains(string(r.body), pub.integrity) ||
		strings.Contains(string(r.body), srv.URL) {
		t.Fatalf("tarball URL not rewritten: %s", r.body)
	}
	etag := r.header.Get("ETag")
	if r := e.do(ctx, http.MethodGet, "/@team%2flib", readerToken, nil, "If-None-Match", etag); r.status != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d", r.status)
	}
	abbr := e.do(ctx, http.MethodGet, "/@team%2flib", readerToken, nil, "Accept", abbreviatedType)
	if abbr.status != 200 || strings.Contains(string(abbr.body), "keywords") || !strings.Contains(string(abbr.body), want) {
		t.Fatalf("abbreviated: %d %s", abbr.status, abbr.body)
	}
	if v := e.do(ctx, http.MethodGet, "/@team%2flib/latest", readerToken, nil); v.status != 200 || !strings.Contains(string(v.body), want) {
		t.Fatalf("version: %d %s", v.status, v.body)
	}
	for range 2 {
		tb := e.do(ctx, http.MethodGet, "/@team%2flib/-/lib-1.0.0.tgz", readerToken, nil)
		if tb.status != 200 || !bytes.Equal(tb.body, pub.tarball) {
			t.Fatalf("tarball: %d, %d bytes", tb.status, len(tb.body))
		}
	}
	if _, err := e.storage.Stat(ctx, upstreamTarballKey("@team/lib", "lib-1.0.0.tgz")); err != nil {
		t.Fatalf("tarball not cached: %v", err)
	}
	if r := e.do(ctx, http.MethodGet, "/@team%2flib/-/lib-2.0.0.tgz", readerToken, nil); r.status != 404 {
		t.Fatalf("unknown version: %d %s", r.status, r.body)
	}
	if r := e.do(ctx, http.MethodGet, "/nowhere", readerToken, nil); r.status != 404 {
		t.Fatalf("unknown package: %d %s", r.status, r.body)
	}
	if r := e.do(ctx, http.MethodGet, "/@team%2flib", "", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("anonymous: %d %s", r.status, r.body)
	}
}

// A local package shadows the upstream one of the same name.
func TestProxyLocalPackageShadowsUpstream(t *testing.T) {
	ctx := t.Context()
	origin := newTestEnv(t, nil)
	origin.publish(ctx, adminToken, newPublish(t, "shadowed", "9.0.0"))
	e := newProxyEnv(t, Config{}, core.Upstream{Name: "origin", URL: serveEnv(t, origin).URL, Token: adminToken})
	e.publish(ctx, adminToken, newPublish(t, "shadowed", "1.0.0"))
	doc := e.packument(ctx, "shadowed")
	if _, ok := doc["versions"].(map[string]any)["9.0.0"]; ok {
		t.Fatalf("upstream version merged: %v", doc["versions"])
	}
	if r := e.do(ctx, http.MethodGet, "/shadowed/-/shadowed-9.0.0.tgz", adminToken, nil); r.status != 404 {
		t.Fatalf("upstream tarball of a local package: %d", r.status)
	}
}

// An upstream whose tarball does not match the packument's integrity: the
// download fails and nothing is cached.
func TestProxyRefusesMismatchingTarball(t *testing.T) {
	ctx := t.Context()
	origin := newTestEnv(t, nil)
	origin.publish(ctx, adminToken, newPublish(t, "liar", "1.0.0"))
	inner := serveEnv(t, origin)
	var lies atomic.Int32
	liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".tgz") {
			lies.Add(1)
			w.Write(bytes.Repeat([]byte("x"), 300))
			return
		}
		req, _ := http.NewRequest(http.MethodGet, inner.URL+r.URL.RequestURI(), nil)
		req.Header.Set("Authorization", r.Header.Get("Authorization"))
		req.Host = r.Host // tarball URLs name the liar
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	t.Cleanup(liar.Close)
	e := newProxyEnv(t, Config{}, core.Upstream{Name: "liar", URL: liar.URL, Token: adminToken})
	for range 2 {
		r := e.do(ctx, http.MethodGet, "/liar/-/liar-1.0.0.tgz", adminToken, nil)
		if r.status == 200 && len(r.body) == 300 {
			t.Fatal("a mismatching tarball was served whole")
		}
	}
	if _, err := e.storage.Stat(ctx, upstreamTarballKey("liar", "liar-1.0.0.tgz")); err == nil {
		t.Fatal("a mismatching tarball was cached")
	}
	if lies.Load() != 2 {
		t.Fatalf("the liar was asked %d times", lies.Load())
	}
}

// With NewNamesNeedWrite a reader cannot make the registry fetch a name
// nothing has cached, but reads it once a writer has.
func TestProxyNewNamesNeedWrite(t *testing.T) {
	ctx := t.Context()
	origin := newTestEnv(t, nil)
	origin.publish(ctx, adminToken, newPublish(t, "gated", "1.0.0"))
	e := newProxyEnv(t, Config{Upstream: upstream.Policy{NewNamesNeedWrite: true}},
		core.Upstream{Name: "origin", URL: serveEnv(t, origin).URL, Token: adminToken})
	if r := e.do(ctx, http.MethodGet, "/gated", readerToken, nil); r.status != http.StatusForbidden {
		t.Fatalf("reader fetching a new name: %d %s", r.status, r.body)
	}
	if r := e.do(ctx, http.MethodGet, "/gated", adminToken, nil); r.status != http.StatusOK {
		t.Fatalf("writer: %d %s", r.status, r.body)
	}
	if r := e.do(ctx, http.MethodGet, "/gated/-/gated-1.0.0.tgz", readerToken, nil); r.status != http.StatusOK {
		t.Fatalf("reader of a cached name: %d %s", r.status, r.body)
	}
}

// Storage hooks see the cache fills with their kinds and package; a hook
// that refuses the fill (a quota) leaves the download working, uncached.
func TestProxyCacheFillsGoThroughHooks(t *testing.T) {
	ctx := t.Context()
	origin := newTestEnv(t, nil)
	pub := newPublish(t, "hooked", "1.0.0")
	origin.publish(ctx, adminToken, pub)
	srv := serveEnv(t, origin)
	fills := handlertest.NewFillHooks()
	e := newProxyEnvOn(t, memory.New(), fills.Hooks(), Config{}, core.Upstream{Name: "o", URL: srv.URL, Token: adminToken})
	fills.RefusedThenAllowed(t, e.storage, upstreamTarballKey("hooked", "hooked-1.0.0.tgz"), func() {
		if r := e.do(ctx, http.MethodGet, "/hooked/-/hooked-1.0.0.tgz", adminToken, nil); r.status != 200 || !bytes.Equal(r.body, pub.tarball) {
			t.Fatalf("download: %d, %d bytes", r.status, len(r.body))
		}
		if r := e.do(ctx, http.MethodGet, "/hooked/-/hooked-1.0.0.tgz", adminToken, nil); r.status != 200 {
			t.Fatalf("second download: %d", r.status)
		}
	})
	fills.MustHaveSeen(t, "metadata hooked ", "artifact hooked 1.0.0")
}

// With Merge, a local package also shows the upstream's versions (local
// ones win), and their tarballs download from the upstream.
func TestProxyMergesLocalAndUpstreamVersions(t *testing.T) {
	ctx := t.Context()
	origin := newTestEnv(t, nil)
	up1 := newPublish(t, "mixed", "1.0.0")
	origin.publish(ctx, adminToken, up1)
	up2 := newPublish(t, "mixed", "2.0.0")
	origin.publish(ctx, adminToken, up2)
	e := newProxyEnv(t, Config{Upstream: upstream.Policy{Merge: true}},
		core.Upstream{Name: "origin", URL: serveEnv(t, origin).URL, Token: adminToken})
	local2 := newPublishFrom("mixed", "2.0.0", regzip(t, up2.tarball))
	local2.tag = "local"
	e.publish(ctx, adminToken, local2)
	e.publish(ctx, adminToken, newPublish(t, "mixed", "3.0.0"))

	doc := e.packument(ctx, "mixed")
	versions := doc["versions"].(map[string]any)
	if len(versions) != 3 {
		t.Fatalf("versions: %v", versions)
	}
	v2 := versions["2.0.0"].(map[string]any)["dist"].(map[string]any)
	if v2["integrity"] != local2.integrity {
		t.Fatalf("2.0.0 is not the local one: %v", v2)
	}
	tags := doc["dist-tags"].(map[string]any)
	if tags["latest"] != "3.0.0" || tags["local"] != "2.0.0" {
		t.Fatalf("dist-tags: %v", tags)
	}
	for v, want := range map[string][]byte{"1.0.0": up1.tarball, "2.0.0": local2.tarball} {
		r := e.do(ctx, http.MethodGet, "/mixed/-/mixed-"+v+".tgz", adminToken, nil)
		if r.status != 200 || !bytes.Equal(r.body, want) {
			t.Fatalf("tarball %s: %d, %d bytes", v, r.status, len(r.body))
		}
	}
	if r := e.do(ctx, http.MethodGet, "/mixed/1.0.0", adminToken, nil); r.status != 200 {
		t.Fatalf("upstream version: %d %s", r.status, r.body)
	}
	abbr := e.do(ctx, http.MethodGet, "/mixed", adminToken, nil, "Accept", abbreviatedType)
	if abbr.status != 200 || !strings.Contains(string(abbr.body), `"1.0.0"`) {
		t.Fatalf("abbreviated: %d %s", abbr.status, abbr.body)
	}
}
