package composer

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
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

// TestE2EComposerUpstream: composer installs through our example server
// packages that only its upstreams (two more example servers, auth on)
// hold, on the filesystem.
func TestE2EComposerUpstream(t *testing.T) { composerUpstreamScenario(t, e2etest.Options{}) }

// TestE2EComposerUpstreamS3 is the same with our server's cache on MinIO.
func TestE2EComposerUpstreamS3(t *testing.T) { composerUpstreamScenario(t, e2etest.OnS3(t)) }

func composerUpstreamScenario(t *testing.T, opts e2etest.Options) {
	composer := e2etest.RequireTool(t, "composer")
	e2etest.RequireTool(t, "php")
	ctx := t.Context()
	public := e2etest.StartServer(t, e2etest.Options{})  // everything but team-*/*, asked with HTTP Basic
	private := e2etest.StartServer(t, e2etest.Options{}) // team-*/* only, asked with a Bearer token
	plain := e2etest.Unique("upplain") + "/lib"
	teamVendor := "team-" + strings.TrimPrefix(e2etest.Unique("x"), "x-")
	scoped := teamVendor + "/lib"
	publish := func(s *e2etest.Server, p pkg) {
		t.Helper()
		if status, body := uploadHTTP(ctx, t, s.URL, s.Token, p.name, "", p.zip(t)); status != http.StatusCreated {
			t.Fatalf("upload %s %s: %d %s", p.name, p.version, status, body)
		}
	}
	publish(public, pkg{name: plain, version: "1.0.0"})
	publish(private, pkg{name: scoped, version: "1.0.0"})
	// The same team name on the public upstream must never be asked for.
	publish(public, pkg{name: scoped, version: "9.9.9"})

	// A third upstream, in this process, whose zip breaks off while cut.
	broken := "broken-" + strings.TrimPrefix(e2etest.Unique("x"), "x-") + "/pkg"
	zip := pkg{name: broken, version: "1.0.0"}.zip(t)
	var cut atomic.Bool
	cut.Store(true)
	brokenSrv := httptest.NewServer(brokenComposerUpstream(broken, zip, &cut))
	t.Cleanup(brokenSrv.Close)

	const ttl = 2 * time.Second
	opts.Env = append(opts.Env, e2etest.UpstreamEnv("COMPOSER", ttl,
		private.TokenUpstream("", "/composer", "team-*"),
		public.BasicUpstream("/composer", "!team-*;!broken-*"),
		brokenSrv.URL+"#broken-*")...)
	ours := e2etest.StartServer(t, opts)

	work := t.TempDir()
	home := filepath.Join(work, "home")
	writeJSON(t, filepath.Join(home, "auth.json"), map[string]any{
		"http-basic": map[string]any{ours.Host: map[string]string{"username": "token", "password": ours.Token}}})
	cache := filepath.Join(work, "cache")
	run := func(dir string, fail bool, args ...string) string {
		t.Helper()
		env := []string{"COMPOSER_ALLOW_SUPERUSER=1", "COMPOSER_HOME=" + home, "COMPOSER_CACHE_DIR=" + cache,
			"COMPOSER_NO_INTERACTION=1", "COMPOSER_DISABLE_XDEBUG_WARN=1"}
		args = append(args, "--no-ansi", "--no-progress")
		if fail {
			out, err := e2etest.RunErr(t, dir, env, composer, args...)
			if err == nil {
				t.Fatalf("composer %s succeeded:\n%s", strings.Join(args, " "), out)
			}
			return out
		}
		out := e2etest.Run(t, dir, env, composer, args...)
		t.Logf("composer %s:\n%s", strings.Join(args, " "), out)
		return out
	}
	repo := ours.URL + "/composer"

	// Install both from ours: each from its own upstream, the zips from us.
	app := newProject(t, filepath.Join(work, "app"), repo)
	run(app, false, "require", plain, scoped) // the public 9.9.9 would win if asked
	start := time.Now()                       // every document was fetched before
	assertInstalled(t, app, plain, "1.0.0")
	assertInstalled(t, app, scoped, "1.0.0")
	if b, _ := os.ReadFile(filepath.Join(app, "vendor", "composer", "installed.json")); !strings.Contains(string(b), repo+"/dists/"+plain+"/") {
		t.Errorf("dist urls do not point at us:\n%s", b)
	}

	// A newer version published upstream appears once the TTL has passed.
	publish(public, pkg{name: plain, version: "1.1.0"})
	time.Sleep(time.Until(start.Add(ttl + 100*time.Millisecond)))
	run(app, false, "update")
	assertInstalled(t, app, plain, "1.1.0")

	// Both upstreams stop: installs go on from the cache, with a fresh
	// composer cache.
	public.Stop(t)
	private.Stop(t)
	time.Sleep(time.Until(start.Add(2*ttl + 100*time.Millisecond))) // the cached documents are stale now
	cache = filepath.Join(work, "cache2")
	app2 := newProject(t, filepath.Join(work, "app2"), repo)
	run(app2, false, "require", plain+":1.1.0", scoped+":^1.0")
	assertInstalled(t, app2, plain, "1.1.0")
	assertInstalled(t, app2, scoped, "1.0.0")

	// A zip cut off by the upstream fails the install and is not cached;
	// once the upstream sends it whole, the install works.
	app3 := newProject(t, filepath.Join(work, "app3"), repo)
	run(app3, true, "require", broken)
	if ours.DataDir != "" {
		if _, err := os.Stat(filepath.Join(ours.DataDir, "composer", "upstream", "dists", broken, "ref1.zip")); !os.IsNotExist(err) {
			t.Fatalf("the truncated zip was cached: %v", err)
		}
	}
	cut.Store(false)
	cache = filepath.Join(work, "cache3")
	app4 := newProject(t, filepath.Join(work, "app4"), repo)
	run(app4, false, "require", broken)
	assertInstalled(t, app4, broken, "1.0.0")
}

// brokenComposerUpstream is a Composer repository holding name 1.0.0 whose
// zip is cut in half while cut is set.
func brokenComposerUpstream(name string, zip []byte, cut *atomic.Bool) http.HandlerFunc {
	sum := sha1.Sum(zip)
	return func(w http.ResponseWriter, r *http.Request) {
		base := "http://" + r.Host
		switch r.URL.Path {
		case "/packages.json":
			w.Write([]byte(`{"metadata-url":"/p2/%package%.json"}`))
		case "/p2/" + name + ".json":
			fmt.Fprintf(w, `{"minified":"composer/2.0","packages":{%q:[{"name":%q,"version":"1.0.0",`+
				`"autoload":{"psr-4":{"X\\":"src/"}},"dist":{"type":"zip","url":%q,"reference":"ref1","shasum":%q}}]}}`,
				name, name, base+"/zips/pkg.zip", hex.EncodeToString(sum[:]))
		case "/zips/pkg.zip":
			handlertest.WriteBody(w, zip, cut.Load())
		default:
			http.NotFound(w, r)
		}
	}
}
