package maven

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
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
	e := newTestEnvOn(t, backend, cfg, hooks)
	prov := handlertest.Upstreams(t, core.ProtocolMaven, ups...)
	deps := e.h.deps
	deps.Upstream = prov
	h, err := New(deps, cfg)
	if err != nil {
		t.Fatal(err)
	}
	handlertest.CloseAtCleanup(t, h)
	e.h = h
	return e
}

// originWith is an upstream repository (auth on) served over HTTP, with
// files deployed by deploy; it returns the upstream that reaches it with
// the admin's token as a Bearer token.
func originWith(t testing.TB, files map[string]string) (*testEnv, *httptest.Server, core.Upstream) {
	t.Helper()
	origin := newTestEnv(t, Config{})
	// In path order, so that the upstream's metadata lists its versions in
	// an order the tests know.
	for _, p := range slices.Sorted(maps.Keys(files)) {
		origin.deploy(t.Context(), p, files[p])
	}
	srv := handlertest.Serve(t, origin.h)
	return origin, srv, core.Upstream{Name: "origin", URL: srv.URL, Token: adminToken}
}

const (
	upJar  = "/com/example/lib/1.0/lib-1.0.jar"
	upPom  = "/com/example/lib/1.0/lib-1.0.pom"
	upSnap = "/com/example/lib/2.0-SNAPSHOT/lib-2.0-20260102.150405-1.jar"
)

func libFiles() map[string]string {
	return map[string]string{upJar: "lib jar 1.0", upPom: "<project>lib</project>", upSnap: "snapshot build 1",
		"/com/example/lib/1.0/lib-1.0-sources.jar": "lib sources"}
}

func TestProxyServesUpstreamFiles(t *testing.T) {
	ctx := t.Context()
	origin, _, up := originWith(t, libFiles())
	e := newProxyEnv(t, Config{}, up)
	jar := "lib jar 1.0"
	m5, s256, s512 := md5.Sum([]byte(jar)), sha256.Sum256([]byte(jar)), sha512.Sum512([]byte(jar))

	// A reader of com.example is enough to fetch; files come twice the
	// same, the second time from the cache.
	for range 2 {
		if r := e.do(ctx, request{method: "GET", path: upJar, token: readerToken}); r.status != 200 || r.body != jar ||
			r.header.Get("Content-Type") != "application/java-archive" {
			t.Fatalf("jar: %d %q %v", r.status, r.body, r.header)
		}
	}
	if _, err := e.storage.Stat(ctx, upstreamFileKey(Coordinates{Group: "com.example", Artifact: "lib", Version: "1.0", File: "lib-1.0.jar"})); err != nil {
		t.Fatalf("jar not cached: %v", err)
	}
	for _, tc := range []struct {
		name     string
		req      request
		status   int
		body     string
		contains []string
	}{
		{name: "sha1", req: request{method: "GET", path: upJar + ".sha1", token: readerToken}, status: 200, body: sha1Hex(jar)},
		{name: "md5", req: request{method: "GET", path: upJar + ".md5", token: readerToken}, status: 200, body: hexOf(m5[:])},
		{name: "sha256", req: request{method: "GET", path: upJar + ".sha256", token: readerToken}, status: 200, body: hexOf(s256[:])},
		{name: "sha512", req: request{method: "GET", path: upJar + ".sha512", token: readerToken}, status: 200, body: hexOf(s512[:])},
		// A checksum asked for before its file fetches the file.
		{name: "pom sha1 first", req: request{method: "GET", path: upPom + ".sha1", token: adminToken}, status: 200, body: sha1Hex("<project>lib</project>")},
		{name: "pom", req: request{method: "GET", path: upPom, token: adminToken}, status: 200, body: "<project>lib</project>"},
		{name: "head sources", req: request{method: "HEAD", path: "/com/example/lib/1.0/lib-1.0-sources.jar", token: adminToken}, status: 200},
		{name: "sources", req: request{method: "GET", path: "/com/example/lib/1.0/lib-1.0-sources.jar", token: adminToken}, status: 200, body: "lib sources"},
		{name: "timestamped snapshot", req: request{method: "GET", path: upSnap, token: adminToken}, status: 200, body: "snapshot build 1"},
		{name: "non-unique snapshot", req: request{method: "GET", path: "/com/example/lib/2.0-SNAPSHOT/lib-2.0-SNAPSHOT.jar", token: adminToken},
			status: 200, body: "snapshot build 1"},
		{name: "non-unique snapshot sha1", req: request{method: "GET", path: "/com/example/lib/2.0-SNAPSHOT/lib-2.0-SNAPSHOT.jar.sha1", token: adminToken},
			status: 200, body: sha1Hex("snapshot build 1")},
		{name: "artifact metadata", req: request{method: "GET", path: "/com/example/lib/maven-metadata.xml", token: readerToken}, status: 200,
			body: origin.get(ctx, "/com/example/lib/maven-metadata.xml").body},
		{name: "version metadata", req: request{method: "GET", path: "/com/example/lib/2.0-SNAPSHOT/maven-metadata.xml", token: readerToken}, status: 200,
			contains: []string{"<buildNumber>1</buildNumber>", "<value>2.0-20260102.150405-1</value>"}},
		{name: "missing file", req: request{method: "GET", path: "/com/example/lib/1.0/lib-1.0-javadoc.jar", token: adminToken}, status: 404},
		{name: "missing version", req: request{method: "GET", path: "/com/example/lib/3.0/lib-3.0.jar", token: adminToken}, status: 404},
		{name: "missing metadata", req: request{method: "GET", path: "/org/none/maven-metadata.xml", token: adminToken}, status: 404},
		{name: "anonymous", req: request{method: "GET", path: upJar}, status: 401},
		{name: "anonymous metadata", req: request{method: "GET", path: "/com/example/lib/maven-metadata.xml"}, status: 401},
		{name: "other group", req: request{method: "GET", path: "/org/other/x/1.0/x-1.0.jar", token: readerToken}, status: 403},
		{name: "other group metadata", req: request{method: "GET", path: "/org/other/x/maven-metadata.xml", token: readerToken}, status: 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(ctx, tc.req)
			if r.status != tc.status || (tc.body != "" && r.body != tc.body) {
				t.Fatalf("%d %q, want %d %q", r.status, r.body, tc.status, tc.body)
			}
			for _, c := range tc.contains {
				if !strings.Contains(r.body, c) {
					t.Errorf("body lacks %q:\n%s", c, r.body)
				}
			}
		})
	}
	// The checksums of metadata are those of the body served.
	for _, dir := range []string{"/com/example/lib/", "/com/example/lib/2.0-SNAPSHOT/"} {
		body := e.get(ctx, dir+"maven-metadata.xml").body
		s := sha256.Sum256([]byte(body))
		if got := e.get(ctx, dir+"maven-metadata.xml.sha1").body; got != sha1Hex(body) {
			t.Errorf("%s sha1 %q, want %q", dir, got, sha1Hex(body))
		}
		if got := e.get(ctx, dir+"maven-metadata.xml.sha256").body; got != hexOf(s[:]) {
			t.Errorf("%s sha256 %q", dir, got)
		}
	}
}

// A local artifact shadows the upstream artifact of the same coordinates;
// with Merge its metadata also lists the upstream's versions, whose files
// come from the upstream, while local versions keep their bytes.
func TestProxyLocalArtifactShadowsUpstream(t *testing.T) {
	files := map[string]string{upJar: "upstream 1.0", "/com/example/lib/2.0/lib-2.0.jar": "upstream 2.0",
		"/com/example/lib/3.0-SNAPSHOT/lib-3.0-20260102.150405-1.jar": "upstream snapshot"}
	for _, merge := range []bool{false, true} {
		t.Run("merge="+strconv.FormatBool(merge), func(t *testing.T) {
			ctx := t.Context()
			_, _, up := originWith(t, files)
			e := newProxyEnv(t, Config{Upstream: upstream.Policy{Merge: merge}}, up)
			e.deploy(ctx, upJar, "local 1.0")
			e.deploy(ctx, "/com/example/lib/1.5/lib-1.5.jar", "local 1.5")
			if r := e.get(ctx, upJar); r.body != "local 1.0" {
				t.Fatalf("local version: %d %q", r.status, r.body)
			}
			md := e.get(ctx, "/com/example/lib/maven-metadata.xml").body
			r2 := e.get(ctx, "/com/example/lib/2.0/lib-2.0.jar")
			snap := e.get(ctx, "/com/example/lib/3.0-SNAPSHOT/maven-metadata.xml")
			if !merge {
				if strings.Contains(md, "2.0") || r2.status != 404 || snap.status != 404 {
					t.Fatalf("shadowed: metadata\n%s\n2.0: %d, snapshot metadata %d", md, r2.status, snap.status)
				}
				return
			}
			for _, want := range []string{"<version>1.0</version>\n      <version>1.5</version>\n      <version>2.0</version>\n      <version>3.0-SNAPSHOT</version>",
				"<release>1.5</release>", "<latest>1.5</latest>"} { // deployed here after the upstream's
				if !strings.Contains(md, want) {
					t.Errorf("merged metadata lacks %q:\n%s", want, md)
				}
			}
			if sum := e.get(ctx, "/com/example/lib/maven-metadata.xml.sha1").body; sum != sha1Hex(md) {
				t.Errorf("merged metadata sha1 %q, want %q", sum, sha1Hex(md))
			}
			if r2.status != 200 || r2.body != "upstream 2.0" || snap.status != 200 {
				t.Fatalf("upstream version of a merged artifact: %d %q, snapshot metadata %d", r2.status, r2.body, snap.status)
			}
			if r := e.get(ctx, "/com/example/lib/3.0-SNAPSHOT/lib-3.0-SNAPSHOT.jar"); r.body != "upstream snapshot" {
				t.Fatalf("upstream snapshot: %d %q", r.status, r.body)
			}
		})
	}
}

func TestMergeMetadata(t *testing.T) {
	local := &Metadata{GroupID: "g", ArtifactID: "a", Versioning: &Versioning{Latest: "1.1", Release: "1.1",
		LastUpdated: "20260101000000", Versions: &Versions{Version: []string{"1.0", "1.1"}}}}
	for _, tc := range []struct {
		name                     string
		up                       *Metadata
		versions                 []string
		latest, release, updated string
	}{
		{"upstream newer", &Metadata{Versioning: &Versioning{Latest: "2.0-SNAPSHOT", Release: "1.5", LastUpdated: "20260201000000",
			Versions: &Versions{Version: []string{"1.1", "1.5", "2.0-SNAPSHOT", "bad/version"}}}},
			[]string{"1.0", "1.1", "1.5", "2.0-SNAPSHOT"}, "2.0-SNAPSHOT", "1.5", "20260201000000"},
		{"local newer", &Metadata{Versioning: &Versioning{Latest: "0.9", Release: "0.9", LastUpdated: "20250101000000",
			Versions: &Versions{Version: []string{"0.9"}}}},
			[]string{"1.0", "1.1", "0.9"}, "1.1", "1.1", "20260101000000"},
		{"upstream without versioning", &Metadata{}, []string{"1.0", "1.1"}, "1.1", "1.1", "20260101000000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mergeMetadata(local, tc.up)
			v := m.Versioning
			if strings.Join(m.VersionList(), " ") != strings.Join(tc.versions, " ") || v.Latest != tc.latest ||
				v.Release != tc.release || v.LastUpdated != tc.updated || m.GroupID != "g" {
				t.Fatalf("%+v %+v", m, v)
			}
		})
	}
}

// A truncated or mismatching upstream jar fails the download and is never
// cached; nor are checksums of it.
func TestProxyRefusesBadFiles(t *testing.T) {
	for _, mode := range []string{"short", "wrong"} {
		t.Run(mode, func(t *testing.T) {
			ctx := t.Context()
			big := strings.Repeat("jar bytes ", 5000)
			_, inner, _ := originWith(t, map[string]string{upJar: big})
			var asked atomic.Int32
			liar := handlertest.LyingUpstream(t, inner, mode, func(p string) bool { return strings.HasSuffix(p, ".jar") }, &asked)
			e := newProxyEnv(t, Config{}, core.Upstream{Name: "liar", URL: liar.URL, Token: adminToken})
			for _, p := range []string{upJar, upJar, upJar + ".sha1"} {
				req := handlertest.Request(t, http.MethodGet, p, nil, "http://registry.test/maven")
				req.Header.Set("Authorization", "Bearer "+adminToken)
				resp := handlertest.Handle(ctx, e.h, req)
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.Status == 200 && err == nil {
					t.Fatalf("%s: a bad jar was served: %d bytes", p, len(body))
				}
			}
			c := Coordinates{Group: "com.example", Artifact: "lib", Version: "1.0", File: "lib-1.0.jar"}
			for _, k := range []string{upstreamFileKey(c), upstreamSumsKey(c)} {
				if _, err := e.storage.Stat(ctx, k); !errors.Is(err, core.ErrNotFound) {
					t.Fatalf("%s cached: %v", k, err)
				}
			}
			if asked.Load() < 3 {
				t.Fatalf("the liar was asked %d times", asked.Load())
			}
		})
	}
}

// mustClientAt is the handler's upstream client with a clock.
func mustClientAt(t *testing.T, e *testEnv, up core.Upstream, now *time.Time) *upstream.Client {
	return handlertest.UpstreamClient(t, upstream.Config{Protocol: core.ProtocolMaven, Storage: e.storage,
		Provider: handlertest.Upstreams(t, core.ProtocolMaven, up), Policy: e.h.cfg.Upstream, Now: func() time.Time { return *now }})
}

// Past the TTL a newer upstream version and SNAPSHOT build show; with the
// upstream down, the stale metadata and the cached files are served.
func TestProxyTTLAndStale(t *testing.T) {
	ctx := t.Context()
	origin, srv, up := originWith(t, libFiles())
	e := newProxyEnv(t, Config{Upstream: upstream.Policy{MetadataTTL: time.Hour}}, up)
	now := time.Now()
	e.h.up = mustClientAt(t, e, up, &now)
	const md, snapMD = "/com/example/lib/maven-metadata.xml", "/com/example/lib/2.0-SNAPSHOT/maven-metadata.xml"
	const nonUnique = "/com/example/lib/2.0-SNAPSHOT/lib-2.0-SNAPSHOT.jar"
	if r := e.get(ctx, md); strings.Contains(r.body, "1.1") {
		t.Fatalf("metadata: %s", r.body)
	}
	if r := e.get(ctx, nonUnique); r.body != "snapshot build 1" {
		t.Fatalf("snapshot: %d %q", r.status, r.body)
	}
	origin.deploy(ctx, "/com/example/lib/1.1/lib-1.1.jar", "lib jar 1.1")
	origin.deploy(ctx, "/com/example/lib/2.0-SNAPSHOT/lib-2.0-20260103.150405-2.jar", "snapshot build 2")
	if r := e.get(ctx, md); strings.Contains(r.body, "1.1") {
		t.Fatalf("refreshed before the TTL: %s", r.body)
	}
	now = now.Add(2 * time.Hour)
	if r := e.get(ctx, md); !strings.Contains(r.body, "<version>1.1</version>") {
		t.Fatalf("after the TTL: %s", r.body)
	}
	if r := e.get(ctx, snapMD); !strings.Contains(r.body, "<buildNumber>2</buildNumber>") {
		t.Fatalf("snapshot metadata after the TTL: %s", r.body)
	}
	if r := e.get(ctx, nonUnique); r.body != "snapshot build 2" {
		t.Fatalf("snapshot after the TTL: %d %q", r.status, r.body)
	}
	for _, p := range []string{upJar, upJar + ".sha1"} {
		if r := e.get(ctx, p); r.status != 200 {
			t.Fatalf("%s: %d", p, r.status)
		}
	}
	srv.Close()
	now = now.Add(2 * time.Hour)
	if r := e.get(ctx, md); r.status != 200 || !strings.Contains(r.body, "<version>1.1</version>") {
		t.Fatalf("stale metadata: %d %s", r.status, r.body)
	}
	for _, p := range []string{upJar, upJar + ".sha1", nonUnique} {
		if r := e.get(ctx, p); r.status != 200 {
			t.Fatalf("%s with the upstream down: %d %s", p, r.status, r.body)
		}
	}
	if r := e.get(ctx, "/com/example/lib/1.1/lib-1.1.jar"); r.status != http.StatusServiceUnavailable {
		t.Fatalf("uncached file, upstream down: %d %s", r.status, r.body)
	}
}

// Scope rules send two artifacts to two upstreams; an artifact is never
// asked of the upstream its rules exclude.
func TestProxyScopeRules(t *testing.T) {
	ctx := t.Context()
	const acme = "/com/acme/core/2.0/core-2.0.jar"
	_, _, private := originWith(t, map[string]string{acme: "private core"})
	var publicAsked atomic.Int32
	_, pubSrv, public := originWith(t, map[string]string{acme: "squatter core", upJar: "public lib"})
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/acme/") {
			publicAsked.Add(1)
		}
		req, _ := http.NewRequest(r.Method, pubSrv.URL+r.URL.RequestURI(), nil)
		req.Header = r.Header
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	t.Cleanup(counting.Close)
	private.Name, private.Include = "private", []string{"com.acme*"}
	public.Name, public.URL, public.Exclude, public.Priority = "public", counting.URL, []string{"com.acme*"}, 1
	e := newProxyEnv(t, Config{}, private, public)
	for p, want := range map[string]string{acme: "private core", upJar: "public lib"} {
		if r := e.get(ctx, p); r.status != 200 || r.body != want {
			t.Fatalf("%s: %d %q, want %q", p, r.status, r.body, want)
		}
	}
	if r := e.get(ctx, "/com/acme/core/maven-metadata.xml"); !strings.Contains(r.body, "<version>2.0</version>") {
		t.Fatalf("acme metadata: %s", r.body)
	}
	if r := e.get(ctx, "/com/acme/core/9.9/core-9.9.jar"); r.status != 404 {
		t.Fatalf("missing acme version: %d", r.status)
	}
	if n := publicAsked.Load(); n != 0 {
		t.Fatalf("the public upstream was asked %d times for com.acme", n)
	}
}

// With NewNamesNeedWrite a reader cannot make the repository fetch an
// artifact nothing has cached, but reads it once a writer has.
func TestProxyNewNamesNeedWrite(t *testing.T) {
	ctx := t.Context()
	_, _, up := originWith(t, libFiles())
	e := newProxyEnv(t, Config{Upstream: upstream.Policy{NewNamesNeedWrite: true}}, up)
	for _, p := range []string{upJar, "/com/example/lib/maven-metadata.xml"} {
		if r := e.do(ctx, request{method: "GET", path: p, token: readerToken}); r.status != http.StatusForbidden {
			t.Fatalf("reader fetching %s: %d %s", p, r.status, r.body)
		}
	}
	if r := e.get(ctx, upJar); r.status != 200 {
		t.Fatalf("admin: %d %s", r.status, r.body)
	}
	for _, p := range []string{upJar, upPom, "/com/example/lib/maven-metadata.xml"} {
		if r := e.do(ctx, request{method: "GET", path: p, token: readerToken}); r.status != 200 {
			t.Fatalf("reader of a cached artifact, %s: %d %s", p, r.status, r.body)
		}
	}
}

// An upstream whose maven-metadata.xml is not XML, or names other
// coordinates, or whose file has no usable .sha1: nothing of it is cached
// or served.
func TestProxyRefusesBadUpstreamDocuments(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct{ name, metadata, sha1, path string }{
		{"not XML", "not xml", "", "/com/example/lib/maven-metadata.xml"},
		{"other artifact", artifactMetadata("com.example", "other", "1.0"), "", "/com/example/lib/maven-metadata.xml"},
		{"other group", artifactMetadata("org.example", "lib", "1.0"), "", "/com/example/lib/maven-metadata.xml"},
		{"bad sha1", "", "not a checksum", upJar},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case strings.HasSuffix(r.URL.Path, "maven-metadata.xml"):
					io.WriteString(w, tc.metadata)
				case strings.HasSuffix(r.URL.Path, ".sha1"):
					io.WriteString(w, tc.sha1)
				case strings.HasSuffix(r.URL.Path, ".jar"):
					io.WriteString(w, "jar")
				default:
					http.NotFound(w, r)
				}
			}))
			t.Cleanup(srv.Close)
			e := newProxyEnv(t, Config{}, core.Upstream{Name: "odd", URL: srv.URL})
			if r := e.get(ctx, tc.path); r.status != http.StatusServiceUnavailable {
				t.Fatalf("%s: %d %s", tc.path, r.status, r.body)
			}
			_ = e.storage.Walk(ctx, upstreamPrefix, func(o core.ObjectInfo) error {
				t.Errorf("cached: %s", o.Key)
				return nil
			})
		})
	}
}

func TestMetadataOwner(t *testing.T) {
	for _, tc := range []struct {
		dir             string
		group, artifact string
		snapshot        bool
	}{
		{"com/example/app", "com.example", "app", false},
		{"com/example/app/1.0-SNAPSHOT", "com.example", "app", true},
		{"com/acme", "com", "acme", false},
		{"com", "com", "*", false},
		{"com/example/1.0-SNAPSHOT", "com", "example", true},
	} {
		g, a, snap, err := metadataOwner(strings.Split(tc.dir, "/"))
		if err != nil || g != tc.group || a != tc.artifact || snap != tc.snapshot {
			t.Errorf("%s: %s %s %v %v", tc.dir, g, a, snap, err)
		}
	}
}

// An artifact whose every local version was deleted is still local: its
// upstream namesake stays shadowed.
func TestProxyEmptiedLocalArtifactShadows(t *testing.T) {
	ctx := t.Context()
	_, _, up := originWith(t, map[string]string{upJar: "upstream 1.0"})
	e := newProxyEnv(t, Config{}, up)
	e.deploy(ctx, "/com/example/lib/0.9/lib-0.9.jar", "local")
	if r := e.do(ctx, request{method: "DELETE", path: "/com/example/lib/0.9/", token: adminToken}); r.status >= 300 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if _, err := e.storage.Stat(ctx, artifactKey("com.example", "lib")); err != nil {
		t.Skipf("deleting the last version removes the artifact document: %v", err)
	}
	for _, p := range []string{"/com/example/lib/maven-metadata.xml", upJar} {
		if r := e.get(ctx, p); r.status != 404 {
			t.Errorf("%s: %d %s", p, r.status, r.body)
		}
	}
}
