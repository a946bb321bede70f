package rubygems

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/internal/handlertest"
	"github.com/smartregistry/smartregistry/upstream"
)

// newProxyEnv returns a test handler (auth on) proxying the given
// upstreams, on a memory backend.
func newProxyEnv(t testing.TB, cfg Config, ups ...core.Upstream) *testEnv {
	t.Helper()
	return newProxyEnvOn(t, memory.New(), core.StorageHooks{}, cfg, ups...)
}

// newProxyEnvOn is newProxyEnv on backend, with storage hooks.
func newProxyEnvOn(t testing.TB, backend core.Backend, hooks core.StorageHooks, cfg Config, ups ...core.Upstream) *testEnv {
	t.Helper()
	e := newTestEnvOn(t, backend, false, cfg)
	prov := handlertest.Upstreams(t, core.ProtocolRubyGems, ups...)
	e.storage = core.NewStorage(backend, hooks)
	h, err := New(core.Deps{Storage: e.storage, Auth: e.h.deps.Auth, Upstream: prov, Logger: slog.New(slog.DiscardHandler)}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	handlertest.CloseAtCleanup(t, h)
	e.h = h
	return e
}

// originWith is an upstream registry (auth on) holding gems, served over
// HTTP; it returns the upstream that reaches it with the admin's token.
func originWith(t testing.TB, gems ...fixture) (*testEnv, *httptest.Server, core.Upstream) {
	origin := newTestEnv(t)
	for _, g := range gems {
		origin.mustPush(context.Background(), g)
	}
	srv := handlertest.Serve(t, origin.h)
	return origin, srv, core.Upstream{Name: "origin", URL: srv.URL, Token: adminToken}
}

func md5Of(s string) string { m := md5.Sum([]byte(s)); return hex.EncodeToString(m[:]) }

// versionsLine returns the line of /versions naming gem, "" when none.
func (e *testEnv) versionsLine(ctx context.Context, gem string) string {
	for line := range strings.SplitSeq(e.get(ctx, "/versions").body, "\n") {
		if strings.HasPrefix(line, gem+" ") {
			return line
		}
	}
	return ""
}

func TestProxyServesUpstreamGems(t *testing.T) {
	ctx := t.Context()
	foo := fixture{name: "foo", version: "1.0.0", deps: map[string]string{"bar-baz": ">= 0.1"}}
	bar := fixture{name: "bar-baz", version: "0.1.0", platform: "java"}
	origin, _, up := originWith(t, foo, bar)
	e := newProxyEnv(t, Config{}, up)
	e.mustPush(ctx, fixture{name: "local", version: "1.0.0"})

	// /info is the upstream's, byte for byte (checksums included); a read
	// scope is enough to fetch it.
	r := e.do(ctx, request{path: "/info/foo", token: fooReader})
	want := origin.get(ctx, "/info/foo")
	if r.status != http.StatusOK || r.body != want.body || !strings.Contains(r.body, "checksum:"+sha256Hex(foo.gem(t))) {
		t.Fatalf("/info/foo: %d %q, want %q", r.status, r.body, want.body)
	}
	checkIndexHeaders(t, r)
	if nm := e.do(ctx, request{path: "/info/foo", token: fooReader,
		header: map[string]string{"If-None-Match": r.header.Get("ETag")}}); nm.status != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d", nm.status)
	}
	// /versions: the local file, then the upstream's lines, whose MD5 is
	// that of the /info file served here.
	local := newTestEnv(t)
	local.mustPush(ctx, fixture{name: "local", version: "1.0.0"})
	versions := e.get(ctx, "/versions")
	if line := e.versionsLine(ctx, "foo"); line != "foo 1.0.0 "+md5Of(r.body) {
		t.Fatalf("/versions line of foo: %q\n%s", line, versions.body)
	}
	if line := e.versionsLine(ctx, "bar-baz"); line != "bar-baz 0.1.0-java "+md5Of(e.get(ctx, "/info/bar-baz").body) {
		t.Fatalf("/versions line of bar-baz: %q", line)
	}
	if !strings.HasPrefix(versions.body, local.get(ctx, "/versions").body[:len("created_at: ")]) ||
		strings.Index(versions.body, "\nlocal 1.0.0 ") > strings.Index(versions.body, "\nfoo ") {
		t.Fatalf("/versions:\n%s", versions.body)
	}
	checkIndexHeaders(t, versions)
	// The quick gemspec is the upstream's; the .gem is the upstream's,
	// served twice, cached once.
	if q := e.get(ctx, "/quick/Marshal.4.8/bar-baz-0.1.0-java.gemspec.rz"); q.status != http.StatusOK ||
		q.body != origin.get(ctx, "/quick/Marshal.4.8/bar-baz-0.1.0-java.gemspec.rz").body {
		t.Fatalf("quick gemspec: %d", q.status)
	}
	for range 2 {
		d := e.do(ctx, request{path: "/gems/foo-1.0.0.gem", token: fooReader})
		if d.status != http.StatusOK || d.body != string(foo.gem(t)) {
			t.Fatalf("download: %d, %d bytes, %v", d.status, len(d.body), d.header)
		}
	}
	for _, k := range []string{upstreamGemKey("foo", "foo-1.0.0"), upstreamSpecKey("bar-baz", "bar-baz-0.1.0-java"),
		upstreamInfoKey("foo"), upstreamVersionsKey("origin")} {
		if _, err := e.storage.Stat(ctx, k); err != nil {
			t.Errorf("%s not cached: %v", k, err)
		}
	}
	for _, tc := range []struct {
		path, token string
		status      int
	}{
		{"/gems/foo-2.0.0.gem", adminToken, http.StatusNotFound},
		{"/info/nowhere", adminToken, http.StatusNotFound},
		{"/gems/nowhere-1.0.0.gem", adminToken, http.StatusNotFound},
		{"/quick/Marshal.4.8/nowhere-1.0.0.gemspec.rz", adminToken, http.StatusNotFound},
		{"/info/foo", "", http.StatusUnauthorized},
		{"/info/bar-baz", fooReader, http.StatusForbidden},
		{"/gems/bar-baz-0.1.0-java.gem", fooReader, http.StatusForbidden},
	} {
		if r := e.do(ctx, request{path: tc.path, token: tc.token}); r.status != tc.status {
			t.Errorf("%s as %q: %d %s, want %d", tc.path, tc.token, r.status, r.body, tc.status)
		}
	}
}

// A local gem shadows the upstream gem of the same name: its /info, its
// downloads and its /versions lines are the local ones only.
func TestProxyLocalGemShadowsUpstream(t *testing.T) {
	ctx := t.Context()
	_, _, up := originWith(t, fixture{name: "shadowed", version: "9.0.0"})
	e := newProxyEnv(t, Config{}, up)
	e.mustPush(ctx, fixture{name: "shadowed", version: "1.0.0"})
	if info := e.get(ctx, "/info/shadowed"); strings.Contains(info.body, "9.0.0") || !strings.Contains(info.body, "1.0.0") {
		t.Fatalf("/info:\n%s", info.body)
	}
	if strings.Contains(e.get(ctx, "/versions").body, "9.0.0") {
		t.Fatal("/versions lists the upstream version of a local gem")
	}
	for _, p := range []string{"/gems/shadowed-9.0.0.gem", "/quick/Marshal.4.8/shadowed-9.0.0.gemspec.rz"} {
		if r := e.get(ctx, p); r.status != http.StatusNotFound {
			t.Fatalf("%s of a local gem: %d", p, r.status)
		}
	}
}

// tryGet GETs path as the admin, returning a failed read of the body as
// err.
func (e *testEnv) tryGet(ctx context.Context, path string) (int, []byte, error) {
	req := handlertest.Request(e.t, http.MethodGet, path, nil, "http://registry.test/rubygems")
	req.Header.Set("Authorization", adminToken)
	return handlertest.Try(ctx, e.h, req)
}

// A truncated or mismatching upstream .gem fails the download and is
// never cached.
func TestProxyRefusesBadGems(t *testing.T) {
	for _, mode := range []string{"short", "wrong"} {
		t.Run(mode, func(t *testing.T) {
			ctx := t.Context()
			g := fixture{name: "liar", version: "1.0.0"}
			_, inner, _ := originWith(t, g)
			var asked atomic.Int32
			liar := handlertest.LyingUpstream(t, inner, mode, func(p string) bool { return strings.HasPrefix(p, "/gems/") }, &asked)
			e := newProxyEnv(t, Config{}, core.Upstream{Name: "liar", URL: liar.URL, Token: adminToken})
			for range 2 {
				status, body, err := e.tryGet(ctx, "/gems/liar-1.0.0.gem")
				if err == nil || (status == http.StatusOK && bytes.Equal(body, g.gem(t))) {
					t.Fatalf("a bad gem was served: %d, %d bytes, %v", status, len(body), err)
				}
			}
			if _, err := e.storage.Stat(ctx, upstreamGemKey("liar", "liar-1.0.0")); !errors.Is(err, core.ErrNotFound) {
				t.Fatalf("a bad gem was cached: %v", err)
			}
			if asked.Load() < 2 {
				t.Fatalf("the liar was asked %d times", asked.Load())
			}
		})
	}
}

// mustClientAt is an upstream client of e's storage with a clock.
func mustClientAt(t *testing.T, e *testEnv, up core.Upstream, now *time.Time) *upstream.Client {
	return handlertest.UpstreamClient(t, upstream.Config{Protocol: core.ProtocolRubyGems, Storage: e.storage,
		Provider: handlertest.Upstreams(t, core.ProtocolRubyGems, up), Policy: e.h.cfg.Upstream, Now: func() time.Time { return *now }})
}

// Past the TTL a newer upstream version shows in /versions and /info;
// with the upstream down, the stale files and the cached gems are served.
func TestProxyTTLAndStale(t *testing.T) {
	ctx := t.Context()
	origin, srv, up := originWith(t, fixture{name: "moving", version: "1.0.0"})
	e := newProxyEnv(t, Config{Upstream: upstream.Policy{MetadataTTL: time.Hour}}, up)
	now := time.Now()
	e.h.up = mustClientAt(t, e, up, &now)
	lists := func(v string) bool {
		return strings.Contains(e.get(ctx, "/info/moving").body, "\n"+v+" ") &&
			strings.Contains(e.get(ctx, "/versions").body, "\nmoving "+v+" ")
	}
	if !lists("1.0.0") {
		t.Fatal("1.0.0 not listed")
	}
	if r := e.get(ctx, "/gems/moving-1.0.0.gem"); r.status != http.StatusOK {
		t.Fatalf("download: %d %s", r.status, r.body)
	}
	origin.mustPush(ctx, fixture{name: "moving", version: "1.1.0"})
	if strings.Contains(e.get(ctx, "/info/moving").body, "1.1.0") || strings.Contains(e.get(ctx, "/versions").body, "1.1.0") {
		t.Fatal("refreshed before the TTL")
	}
	now = now.Add(2 * time.Hour)
	// The upstream's /versions has a second line for the gem, whose MD5
	// is the new /info file's.
	info := e.get(ctx, "/info/moving")
	if !lists("1.1.0") || !strings.HasSuffix(e.get(ctx, "/versions").body, "moving 1.1.0 "+md5Of(info.body)+"\n") {
		t.Fatalf("after the TTL:\n%s\n%s %s", e.get(ctx, "/versions").body, info.body, md5Of(info.body))
	}
	srv.Close()
	now = now.Add(2 * time.Hour)
	if !lists("1.1.0") {
		t.Fatal("stale files not served")
	}
	if r := e.get(ctx, "/gems/moving-1.0.0.gem"); r.status != http.StatusOK {
		t.Fatalf("cached download, upstream down: %d %s", r.status, r.body)
	}
	if r := e.get(ctx, "/gems/moving-1.1.0.gem"); r.status != http.StatusServiceUnavailable {
		t.Fatalf("uncached download, upstream down: %d %s", r.status, r.body)
	}
}

// Scope rules send two names to two upstreams: /versions lists each gem
// from its own upstream, and the squatter of the scoped name on the other
// upstream is never asked for it.
func TestProxyScopeRules(t *testing.T) {
	ctx := t.Context()
	_, _, private := originWith(t, fixture{name: "acme-core", version: "2.0.0"})
	var publicAsked []string
	var mu sync.Mutex
	publicOrigin, _, _ := originWith(t, fixture{name: "acme-core", version: "6.6.6"}, fixture{name: "rack", version: "1.0.0"})
	inner := handlertest.Serve(t, publicOrigin.h)
	publicSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		publicAsked = append(publicAsked, r.URL.Path)
		mu.Unlock()
		httputilForward(w, r, inner.URL)
	}))
	t.Cleanup(publicSrv.Close)
	public := core.Upstream{Name: "public", URL: publicSrv.URL, Username: "admin", Password: adminToken,
		Exclude: []string{"acme-*"}, Priority: 1}
	private.Name, private.Include = "private", []string{"acme-*"}
	e := newProxyEnv(t, Config{}, private, public)
	if l := e.versionsLine(ctx, "acme-core"); !strings.Contains(l, " 2.0.0 ") {
		t.Fatalf("acme-core in /versions: %q\n%s", l, e.get(ctx, "/versions").body)
	}
	if strings.Contains(e.get(ctx, "/versions").body, "6.6.6") {
		t.Fatal("/versions lists the squatter")
	}
	if l := e.versionsLine(ctx, "rack"); !strings.Contains(l, " 1.0.0 ") {
		t.Fatalf("rack in /versions: %q", l)
	}
	for _, p := range []string{"/gems/acme-core-2.0.0.gem", "/gems/rack-1.0.0.gem"} {
		if r := e.get(ctx, p); r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", p, r.status, r.body)
		}
	}
	if r := e.get(ctx, "/gems/acme-core-6.6.6.gem"); r.status != http.StatusNotFound {
		t.Fatalf("the squatter's version: %d", r.status)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range publicAsked {
		if strings.Contains(p, "acme") {
			t.Errorf("the public upstream was asked for %s", p)
		}
	}
}

// httputilForward forwards r to base with its credentials.
func httputilForward(w http.ResponseWriter, r *http.Request, base string) {
	req, _ := http.NewRequest(r.Method, base+r.URL.RequestURI(), nil)
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// With NewNamesNeedWrite a reader cannot make the registry fetch a gem
// nothing has cached, but reads it once a writer has.
func TestProxyNewNamesNeedWrite(t *testing.T) {
	ctx := t.Context()
	_, _, up := originWith(t, fixture{name: "foo", version: "1.0.0"})
	e := newProxyEnv(t, Config{Upstream: upstream.Policy{NewNamesNeedWrite: true}}, up)
	if r := e.do(ctx, request{path: "/info/foo", token: fooReader}); r.status != http.StatusForbidden {
		t.Fatalf("reader fetching a new name: %d %s", r.status, r.body)
	}
	if r := e.get(ctx, "/info/foo"); r.status != http.StatusOK {
		t.Fatalf("writer: %d %s", r.status, r.body)
	}
	if r := e.do(ctx, request{path: "/gems/foo-1.0.0.gem", token: fooReader}); r.status != http.StatusOK {
		t.Fatalf("reader of a cached name: %d %s", r.status, r.body)
	}
}

// An upstream whose /info or /versions is malformed: nothing of it is
// cached; /info and downloads answer 503, /versions shows the local gems.
func TestProxyRefusesBadUpstreamDocuments(t *testing.T) {
	ctx := t.Context()
	g := fixture{name: "odd", version: "1.0.0"}
	good := g.gem(t)
	for _, tc := range []struct{ name, info, versions string }{
		{"no header", "1.0.0 |checksum:" + sha256Hex(good) + "\n", "odd"},
		{"bad checksum", "---\n1.0.0 |checksum:abc\n", "odd"},
		{"no checksum", "---\n1.0.0 |ruby:>= 2.5\n", "odd"},
		{"bad version", "---\n1.0.0/../x |checksum:" + sha256Hex(good) + "\n", "odd"},
		{"html", "<html>", "<html>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/info/odd":
					io.WriteString(w, tc.info)
				case "/versions":
					io.WriteString(w, tc.versions)
				default:
					w.Write(good)
				}
			}))
			t.Cleanup(srv.Close)
			e := newProxyEnv(t, Config{}, core.Upstream{Name: "odd", URL: srv.URL})
			for _, p := range []string{"/info/odd", "/gems/odd-1.0.0.gem"} {
				if r := e.get(ctx, p); r.status != http.StatusServiceUnavailable {
					t.Fatalf("%s: %d %s", p, r.status, r.body)
				}
			}
			if v := e.get(ctx, "/versions"); v.status != http.StatusOK || strings.Contains(v.body, "odd") {
				t.Fatalf("/versions: %d\n%s", v.status, v.body)
			}
			for _, k := range []string{upstreamInfoKey("odd"), upstreamVersionsKey("odd"), upstreamGemKey("odd", "odd-1.0.0")} {
				if _, err := e.storage.Stat(ctx, k); !errors.Is(err, core.ErrNotFound) {
					t.Errorf("%s cached: %v", k, err)
				}
			}
		})
	}
}

// mergeVersions keeps the local file as its first bytes, and takes each
// gem's lines from the first upstream that lists it and serves it.
func TestMergeVersions(t *testing.T) {
	md5a, md5b := strings.Repeat("a", 32), strings.Repeat("b", 32)
	local := &versionsSnapshot{seq: 3, body: []byte("created_at: x\n---\nmine 1.0 " + md5a + "\n")}
	docs := []upstreamVersions{
		{from: "one", body: []byte("created_at: y\n---\nshared 1.0 " + md5a + "\nmine 9.0 " + md5a + "\nonly-two 1 " + md5a + "\nshared 1.1 " + md5b + "\n")},
		{from: "two", body: []byte("---\nshared 7.0 " + md5a + "\nonly-two 2.0 " + md5b + "\nbad/name 1 " + md5a + "\nshort 1\n")},
	}
	serves := func(name, from string) bool { return !(name == "only-two" && from == "one") }
	got := mergeVersions(local, func(n string) bool { return n == "mine" }, docs, serves)
	want := string(local.body) + "shared 1.0 " + md5a + "\nshared 1.1 " + md5b + "\nonly-two 2.0 " + md5b + "\n"
	if string(got.body) != want || got.md5 != md5Of(want) || got.seq != 3 {
		t.Fatalf("merged:\n%s\nwant\n%s", got.body, want)
	}
}

// Lost answers to the cache writes never fail a read; what a crash leaves
// in the middle of a fill (a staged gem) is swept like an abandoned push.
func TestProxyCrashStates(t *testing.T) {
	ctx := t.Context()
	g := fixture{name: "crashy", version: "1.0.0"}
	_, _, up := originWith(t, g)
	backend, lose := handlertest.LosingBackend(upstreamPrefix)
	e := newProxyEnvOn(t, backend, core.StorageHooks{}, Config{}, up)
	for range 2 { // answers lost, then not
		if !strings.Contains(e.versionsLine(ctx, "crashy"), " 1.0.0 ") {
			t.Fatalf("/versions: %s", e.get(ctx, "/versions").body)
		}
		for range 2 {
			if r := e.get(ctx, "/gems/crashy-1.0.0.gem"); r.status != http.StatusOK || r.body != string(g.gem(t)) {
				t.Fatalf("download: %d, %d bytes", r.status, len(r.body))
			}
		}
		lose.Store(false)
	}
	handlertest.SweepsStaged(t, e.storage, uploadKey(time.Now().Add(-2*time.Hour)), uploadsPrefix, e.h.CleanUploads)
}

// Storage hooks see the cache fills with their kinds, gem and version; a
// hook that refuses the fill (a quota) leaves the download working,
// uncached.
func TestProxyCacheFillsGoThroughHooks(t *testing.T) {
	ctx := t.Context()
	g := fixture{name: "hooked", version: "1.0.0"}
	_, _, up := originWith(t, g)
	fills := handlertest.NewFillHooks()
	e := newProxyEnvOn(t, memory.New(), fills.Hooks(), Config{}, up)
	fills.RefusedThenAllowed(t, e.storage, upstreamGemKey("hooked", "hooked-1.0.0"), func() {
		for range 2 {
			if r := e.get(ctx, "/gems/hooked-1.0.0.gem"); r.status != http.StatusOK || r.body != string(g.gem(t)) {
				t.Fatalf("download: %d, %d bytes", r.status, len(r.body))
			}
		}
	})
	fills.MustHaveSeen(t, "metadata hooked ", "artifact hooked 1.0.0")
}

// FuzzUpstreamInfo: any upstream /info file is accepted or refused
// without panicking; an accepted one gives every version a valid id and
// a sha256, so that its download path stays one file below /gems/.
func FuzzUpstreamInfo(f *testing.F) {
	f.Add("---\n1.0.0 dep:>= 1|checksum:" + strings.Repeat("ab", 32) + ",ruby:>= 2.5\n")
	f.Add("---\n1.0.0-x86_64-linux |checksum:" + strings.Repeat("ab", 32) + "\n")
	f.Add("---\n1.0.0 |\n")
	f.Fuzz(func(t *testing.T, body string) {
		sums, err := parseUpstreamInfo([]byte(body))
		if err != nil {
			return
		}
		for id, sum := range sums {
			if len(sum) != 64 || strings.ContainsAny(id, "/ \n") {
				t.Fatalf("accepted %q %q", id, sum)
			}
		}
	})
}
