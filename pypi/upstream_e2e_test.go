package pypi

import (
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

// TestE2EPipUpstream: pip installs through our example server projects
// that only its upstreams (two more example servers, auth on, filled by
// twine) hold, on the filesystem.
func TestE2EPipUpstream(t *testing.T) { pipUpstreamScenario(t, e2etest.Options{}) }

// TestE2EPipUpstreamS3 is the same with our server's cache on MinIO.
func TestE2EPipUpstreamS3(t *testing.T) { pipUpstreamScenario(t, e2etest.OnS3(t)) }

func pipUpstreamScenario(t *testing.T, opts e2etest.Options) {
	twine := e2etest.RequireTool(t, "twine")
	python := e2etest.RequireTool(t, "python3")
	public := e2etest.StartServer(t, e2etest.Options{})  // everything but team-*, asked with a user and password
	private := e2etest.StartServer(t, e2etest.Options{}) // team-* only, asked with a token
	work := t.TempDir()
	plain := e2etest.Unique("sr-up-plain")
	scoped := e2etest.Unique("team-lib")
	upload := func(srv *e2etest.Server, ds ...dist) {
		t.Helper()
		var files []string
		for _, d := range ds {
			for name, content := range map[string][]byte{d.wheelName(): d.wheel(t), d.sdistName(): d.sdist(t)} {
				p := filepath.Join(work, e2etest.Unique("dist"), name)
				writeFile(t, p, content)
				files = append(files, p)
			}
		}
		run(t, work, twine, append([]string{"upload", "--repository-url", srv.URL + "/pypi/", "-u", "__token__",
			"-p", srv.Token, "--non-interactive", "--disable-progress-bar"}, files...)...)
	}
	upload(public, dist{name: plain, version: "1.0"})
	upload(private, dist{name: scoped, version: "1.0"})
	// The same name on the public upstream must never be asked for.
	upload(public, dist{name: scoped, version: "9.9"})

	// A third upstream, in this process, whose wheel breaks off while cut
	// is set.
	trunc := dist{name: e2etest.Unique("broken-pkg"), version: "1.0"}
	var cut atomic.Bool
	cut.Store(true)
	broken := httptest.NewServer(brokenPyPI(trunc, trunc.wheel(t), &cut))
	t.Cleanup(broken.Close)

	const ttl = 2 * time.Second
	opts.Env = append(opts.Env, e2etest.UpstreamEnv("PYPI", ttl,
		private.TokenUpstream("__token__", "/pypi", "team-*"),
		public.BasicUpstream("/pypi", "!team-*;!broken-*"),
		broken.URL+"#broken-*")...)
	ours := e2etest.StartServer(t, opts)
	index := "http://__token__:" + ours.Token + "@" + ours.Host + "/pypi/simple/"
	pip := newPip(t, work, "current", python, index)
	t.Logf("%s", pip.version(t))
	mod := func(name string) string { return strings.ReplaceAll(name, "-", "_") }

	// Install both from ours: each from its own upstream.
	if got := pip.install(t, plain, scoped); got != mod(plain)+"-1.0 "+mod(scoped)+"-1.0" {
		t.Fatalf("pip install through the proxy installed %q", got)
	}
	if !strings.Contains(ours.Logs(), ".whl.metadata") {
		t.Errorf("pip never fetched a PEP 658 metadata file through the proxy")
	}
	// Debian's pip (23.0.1, before PEP 714) reads the proxied pages too.
	old := newPip(t, work, "debian", debianPython(t), index)
	t.Logf("%s", old.version(t))
	if got := old.install(t, plain); got != mod(plain)+"-1.0" {
		t.Fatalf("Debian's pip installed %q through the proxy", got)
	}
	fetched := time.Now() // the cached pages were fetched before this

	// A newer version published upstream appears once the TTL has passed.
	upload(public, dist{name: plain, version: "1.1"})
	time.Sleep(time.Until(fetched.Add(ttl + 100*time.Millisecond)))
	if got := pip.install(t, plain); got != mod(plain)+"-1.1" {
		t.Fatalf("after the TTL pip installed %q, want 1.1", got)
	}
	if got := pip.install(t, scoped); got != mod(scoped)+"-1.0" {
		t.Fatalf("pip installed %q of the private project", got)
	}
	fetched = time.Now()

	// Both upstreams stop: installs go on from the cache (pip runs with
	// --no-cache-dir, so nothing comes from its own cache).
	public.Stop(t)
	private.Stop(t)
	time.Sleep(time.Until(fetched.Add(ttl + 100*time.Millisecond))) // the cached pages are stale now
	if got := pip.install(t, plain+"==1.1", scoped); got != mod(plain)+"-1.1 "+mod(scoped)+"-1.0" {
		t.Fatalf("with the upstreams down pip installed %q", got)
	}

	// A wheel cut off by the upstream fails the install and is not cached;
	// once the upstream sends it whole, the install works.
	target := t.TempDir()
	if out, err := pip.runErr(t, "install", "--no-cache-dir", "--index-url", index, "--target", target,
		"--retries", "0", trunc.name); err == nil {
		t.Fatalf("install of a truncated wheel succeeded:\n%s", out)
	}
	if ours.DataDir != "" {
		if _, err := os.Stat(filepath.Join(ours.DataDir, upstreamFileKey(NormalizeName(trunc.name), trunc.wheelName()))); !os.IsNotExist(err) {
			t.Fatalf("the truncated wheel was cached: %v", err)
		}
	}
	cut.Store(false)
	if got := pip.install(t, trunc.name); got != mod(trunc.name)+"-1.0" {
		t.Fatalf("pip installed %q once the upstream recovered", got)
	}
}

// brokenPyPI serves a JSON simple page of d with one wheel, which is cut
// in half while cut is set.
func brokenPyPI(d dist, wheel []byte, cut *atomic.Bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/simple/" + NormalizeName(d.name) + "/":
			w.Header().Set("Content-Type", ContentTypeJSON)
			json.NewEncoder(w).Encode(map[string]any{"meta": map[string]string{"api-version": "1.0"},
				"name": NormalizeName(d.name), "files": []any{map[string]any{"filename": d.wheelName(),
					"url": "../../files/" + d.wheelName(), "hashes": map[string]string{"sha256": sha256Hex(wheel)}}}})
		case "/files/" + d.wheelName():
			handlertest.WriteBody(w, wheel, cut.Load())
		default:
			http.NotFound(w, r)
		}
	}
}
