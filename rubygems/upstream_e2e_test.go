package rubygems

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/internal/e2etest"
	"github.com/smartregistry/smartregistry/internal/handlertest"
)

// TestE2EGemUpstream: gem install and bundle install, through our example
// server, gems that only its upstreams (two more example servers, auth
// on, the gems pushed there with gem push) hold, on the filesystem.
func TestE2EGemUpstream(t *testing.T) { gemUpstreamScenario(t, e2etest.Options{}) }

// TestE2EGemUpstreamS3 is the same with our server's cache on MinIO.
func TestE2EGemUpstreamS3(t *testing.T) { gemUpstreamScenario(t, e2etest.OnS3(t)) }

func gemUpstreamScenario(t *testing.T, opts e2etest.Options) {
	gem := e2etest.RequireTool(t, "gem")
	bundle := e2etest.RequireTool(t, "bundle")
	public := e2etest.StartServer(t, e2etest.Options{})  // everything but acme-*, asked with HTTP Basic
	private := e2etest.StartServer(t, e2etest.Options{}) // acme-* only, asked with a Bearer token
	toPublic, toPrivate := newGemClient(t, gem, public), newGemClient(t, gem, private)
	plain := e2etest.Unique("upplain")
	scoped := e2etest.Unique("acme-core")
	toPublic.push(t, toPublic.build(t, testGem{name: plain, version: "1.0.0"}))
	toPrivate.push(t, toPrivate.build(t, testGem{name: scoped, version: "1.0.0", deps: map[string]string{plain: ">= 1.0"}}))
	// A squatter of the scoped name on the public upstream, never asked.
	toPublic.push(t, toPublic.build(t, testGem{name: scoped, version: "9.9.9"}))

	// A third upstream, in this process, whose .gem breaks off once.
	broken := e2etest.Unique("broken")
	origin := newTestEnvOn(t, memory.New(), true, Config{})
	brokenGem, err := os.ReadFile(toPublic.build(t, testGem{name: broken, version: "1.0.0"}))
	if err != nil {
		t.Fatal(err)
	}
	if r := origin.push(t.Context(), brokenGem); r.status != http.StatusOK {
		t.Fatalf("push %s: %d %s", broken, r.status, r.body)
	}
	var cut atomic.Bool
	var gemHits atomic.Int32
	cut.Store(true)
	brokenSrv := httptest.NewServer(cutGems(handlertest.Serve(t, origin.h), &cut, &gemHits))
	t.Cleanup(brokenSrv.Close)

	const ttl = 2 * time.Second
	opts.Env = append(opts.Env, e2etest.UpstreamEnv("RUBYGEMS", ttl,
		private.TokenUpstream("", "/rubygems", "acme-*"),
		public.BasicUpstream("/rubygems", "!acme-*;!broken-*"),
		brokenSrv.URL+"#broken-*")...)
	ours := e2etest.StartServer(t, opts)
	c := newGemClient(t, gem, ours)
	step := 0
	// bundleInstall runs bundle install of a Gemfile needing gems, in a
	// fresh directory (fresh HOME and bundle path), and returns its lock.
	bundleInstall := func(gems ...string) string {
		step++
		dir := filepath.Join(c.work, fmt.Sprintf("bundle%d", step))
		b := newBundleAt(t, bundle, dir, c.source, gems[0])
		var gemfile strings.Builder
		fmt.Fprintf(&gemfile, "source %q\n", c.source)
		for _, g := range gems {
			fmt.Fprintf(&gemfile, "gem %q\n", g)
		}
		writeTestFile(t, filepath.Join(dir, "Gemfile"), gemfile.String(), 0o644)
		b.run(t, "install")
		return b.lock(t)
	}

	// gem install of each, and of the scoped one with its dependency,
	// from a fresh GEM_HOME; bundle install of both.
	if got := c.install(t, plain); got != plain+"-1.0.0" {
		t.Fatalf("gem install %s installed %q", plain, got)
	}
	if got := c.install(t, scoped); !strings.Contains(got, scoped+"-1.0.0") || !strings.Contains(got, plain+"-1.0.0") {
		t.Fatalf("gem install %s installed %q", scoped, got)
	}
	if lock := bundleInstall(plain, scoped); !strings.Contains(lock, plain+" (1.0.0)") || !strings.Contains(lock, scoped+" (1.0.0)") {
		t.Fatalf("Gemfile.lock:\n%s", lock)
	}
	fetched := time.Now() // the index files were fetched before

	// A newer version pushed upstream appears once the TTL has passed.
	toPublic.push(t, toPublic.build(t, testGem{name: plain, version: "1.1.0"}))
	time.Sleep(time.Until(fetched.Add(ttl + 100*time.Millisecond)))
	if got := c.install(t, plain); got != plain+"-1.1.0" {
		t.Fatalf("gem install after the TTL installed %q", got)
	}
	if lock := bundleInstall(plain, scoped); !strings.Contains(lock, plain+" (1.1.0)") {
		t.Fatalf("Gemfile.lock after the TTL:\n%s", lock)
	}
	fetched = time.Now()

	// The squatter was never asked for.
	for _, line := range strings.Split(public.Logs(), "\n") {
		if strings.Contains(line, "/"+scoped) {
			t.Errorf("the public upstream was asked for %s: %s", scoped, line)
		}
	}

	// Both upstreams stop: installs go on from the cache, from a fresh
	// GEM_HOME and bundle path.
	public.Stop(t)
	private.Stop(t)
	time.Sleep(time.Until(fetched.Add(ttl + 100*time.Millisecond))) // the cached index files are stale now
	if got := c.install(t, scoped); !strings.Contains(got, scoped+"-1.0.0") || !strings.Contains(got, plain+"-1.1.0") {
		t.Fatalf("gem install with the upstreams down installed %q", got)
	}
	if lock := bundleInstall(plain, scoped); !strings.Contains(lock, plain+" (1.1.0)") || !strings.Contains(lock, scoped+" (1.0.0)") {
		t.Fatalf("Gemfile.lock with the upstreams down:\n%s", lock)
	}

	// A .gem cut off by the upstream fails the install and is not cached;
	// once the upstream sends it whole, the install works.
	if got, err := c.installErr(t, broken); err == nil {
		t.Fatalf("a truncated gem installed: %s", got)
	}
	if ours.DataDir != "" {
		if _, err := os.Stat(filepath.Join(ours.DataDir, filepath.FromSlash(upstreamGemKey(broken, broken+"-1.0.0")))); !os.IsNotExist(err) {
			t.Fatalf("the truncated gem was cached: %v", err)
		}
	}
	cut.Store(false)
	hits := gemHits.Load()
	if got := c.install(t, broken); got != broken+"-1.0.0" {
		t.Fatalf("gem install %s installed %q", broken, got)
	}
	if gemHits.Load() == hits { // on S3 too: the whole gem came from the upstream, not a cache
		t.Fatal("the gem was not fetched again after the truncated download")
	}
}

// cutGems forwards to the upstream at srv, cutting every .gem off after
// 700 bytes while cut is set; gemHits counts the .gem requests.
func cutGems(srv *httptest.Server, cut *atomic.Bool, gemHits *atomic.Int32) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Get(srv.URL + r.URL.RequestURI())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		if !strings.HasPrefix(r.URL.Path, "/gems/") {
			io.Copy(w, resp.Body)
			return
		}
		gemHits.Add(1)
		if cut.Load() {
			io.CopyN(w, resp.Body, 700) // into metadata.gz: gem takes a gem cut after whole members

			panic(http.ErrAbortHandler)
		}
		io.Copy(w, resp.Body)
	}
}
