package npm

import (
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/internal/e2etest"
	"github.com/smartregistry/smartregistry/internal/handlertest"
)

// TestE2ENpmUpstream: the npm CLI installs through our example server
// packages that only its upstreams (two more example servers, auth on)
// hold, on the filesystem.
func TestE2ENpmUpstream(t *testing.T) { npmUpstreamScenario(t, e2etest.Options{}) }

// TestE2ENpmUpstreamS3 is the same with our server's cache on MinIO.
func TestE2ENpmUpstreamS3(t *testing.T) { npmUpstreamScenario(t, e2etest.OnS3(t)) }

func npmUpstreamScenario(t *testing.T, opts e2etest.Options) {
	e2etest.RequireTool(t, "npm")
	public := e2etest.StartServer(t, e2etest.Options{})  // everything but @team/*, asked with HTTP Basic
	private := e2etest.StartServer(t, e2etest.Options{}) // @team/* only, asked with a Bearer token
	work := t.TempDir()
	plain := e2etest.Unique("up-plain")
	scoped := "@team/" + e2etest.Unique("lib")
	pubCLI, privCLI := newNpmCLI(t, public, public.Token), newNpmCLI(t, private, private.Token)
	pubCLI.run(writePackage(t, work, plain, "1.0.0", "held upstream"), "publish")
	privCLI.run(writePackage(t, work, scoped, "1.0.0", "held by the private upstream"), "publish")
	// The same scoped name on the public upstream must never be asked for.
	pubCLI.run(writePackage(t, work, scoped, "9.9.9", "a squatter"), "publish")

	// A third upstream, in this process, whose tarball breaks off once.
	trunc := "@broken/" + e2etest.Unique("pkg")
	tgz := makeTarball(t, trunc, "1.0.0")
	var cut atomic.Bool
	cut.Store(true)
	broken := httptest.NewServer(brokenUpstream(trunc, tgz, &cut))
	t.Cleanup(broken.Close)

	const ttl = 2 * time.Second
	opts.Env = append(opts.Env, e2etest.UpstreamEnv("NPM", ttl,
		private.TokenUpstream("", "/npm", "@team/*"),
		public.BasicUpstream("/npm", "!@team/*;!@broken/*"),
		broken.URL+"#@broken/*")...)
	ours := e2etest.StartServer(t, opts)
	npm := newNpmCLI(t, ours, ours.Token)

	// Install both from ours: each from its own upstream.
	app := newApp(t, work, "app")
	npm.run(app, "install", plain, scoped)
	fetched := time.Now() // the packuments were fetched before
	assertInstalled(t, app, plain, "1.0.0")
	assertInstalled(t, app, scoped, "1.0.0")
	mustContain(t, "view", npm.run(work, "view", plain, "dist.tarball"), ours.URL+"/npm/"+plain+"/-/"+plain+"-1.0.0.tgz")

	// A newer version published upstream appears once the TTL has passed.
	pubCLI.run(writePackage(t, work, plain, "1.1.0", "held upstream"), "publish")
	time.Sleep(time.Until(fetched.Add(ttl + 100*time.Millisecond)))
	mustContain(t, "view after TTL", npm.run(work, "view", "--prefer-online", plain, "version"), "1.1.0")
	app2 := newApp(t, work, "app2")
	npm.run(app2, "install", plain+"@1.1.0", scoped)
	fetched = time.Now()
	assertInstalled(t, app2, plain, "1.1.0")

	// Both upstreams stop: installs go on from the cache, with a fresh npm
	// cache, and the breakers show on /healthz.
	public.Stop(t)
	private.Stop(t)
	time.Sleep(time.Until(fetched.Add(ttl + 100*time.Millisecond))) // the cached documents are stale now
	npm.cache = filepath.Join(t.TempDir(), "cache")
	app3 := newApp(t, work, "app3")
	npm.run(app3, "install", plain+"@1.1.0", scoped)
	assertInstalled(t, app3, plain, "1.1.0")
	assertInstalled(t, app3, scoped, "1.0.0")
	resp, err := http.Get(ours.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var health struct {
		Upstreams []struct{ Protocol, Name, URL, State string }
	}
	json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if len(health.Upstreams) != 3 || strings.Contains(health.Upstreams[0].URL, "@") {
		t.Fatalf("healthz upstreams: %+v", health.Upstreams)
	}

	// A tarball cut off by the upstream fails the install and is not
	// cached; once the upstream sends it whole, the install works.
	app4 := newApp(t, work, "app4")
	npm.fails(app4, "install", trunc, "--fetch-retries=0")
	if ours.DataDir != "" {
		if _, err := os.Stat(filepath.Join(ours.DataDir, "npm", "upstream", trunc, "-", pathBase(trunc)+"-1.0.0.tgz")); !os.IsNotExist(err) {
			t.Fatalf("the truncated tarball was cached: %v", err)
		}
	}
	cut.Store(false)
	npm.cache = filepath.Join(t.TempDir(), "cache")
	npm.run(app4, "install", trunc)
	assertInstalled(t, app4, trunc, "1.0.0")
}

// brokenUpstream serves a packument of name with one version whose tarball
// is cut in half while cut is set.
func brokenUpstream(name string, tgz []byte, cut *atomic.Bool) http.HandlerFunc {
	sha := sha1.Sum(tgz)
	sri := sha512.Sum512(tgz)
	return func(w http.ResponseWriter, r *http.Request) {
		base := "http://" + r.Host
		switch r.URL.EscapedPath() {
		case "/" + escapedName(name):
			doc := map[string]any{"name": name, "dist-tags": map[string]string{"latest": "1.0.0"},
				"versions": map[string]any{"1.0.0": map[string]any{"name": name, "version": "1.0.0",
					"dist": map[string]string{"tarball": base + "/" + name + "/-/" + pathBase(name) + "-1.0.0.tgz",
						"shasum": hex.EncodeToString(sha[:]), "integrity": "sha512-" + base64.StdEncoding.EncodeToString(sri[:])}}}}
			json.NewEncoder(w).Encode(doc)
		case "/" + name + "/-/" + pathBase(name) + "-1.0.0.tgz":
			handlertest.WriteBody(w, tgz, cut.Load())
		default:
			http.NotFound(w, r)
		}
	}
}

func pathBase(name string) string { return name[strings.LastIndexByte(name, '/')+1:] }

func newApp(t *testing.T, work, name string) string {
	t.Helper()
	app := filepath.Join(work, name)
	if err := os.MkdirAll(app, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "package.json"), []byte(`{"name":"`+name+`","version":"1.0.0","private":true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return app
}

func assertInstalled(t *testing.T, app, pkg, version string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(app, "node_modules", pkg, "package.json"))
	if err != nil || !strings.Contains(string(b), `"version":"`+version+`"`) {
		t.Fatalf("installed %s: %v %s", pkg, err, b)
	}
}
