package cargo

import (
	"encoding/json"
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

// TestE2ECargoUpstream: cargo builds, through our example server, crates
// that only its upstreams (two more example servers, auth on, the crates
// published there with cargo publish) hold, on the filesystem.
func TestE2ECargoUpstream(t *testing.T) { cargoUpstreamScenario(t, e2etest.Options{}) }

// TestE2ECargoUpstreamS3 is the same with our server's cache on MinIO.
func TestE2ECargoUpstreamS3(t *testing.T) { cargoUpstreamScenario(t, e2etest.OnS3(t)) }

func cargoUpstreamScenario(t *testing.T, opts e2etest.Options) {
	cargo := requireCargo(t)
	public := e2etest.StartServer(t, e2etest.Options{})  // everything but acme-*, asked with HTTP Basic
	private := e2etest.StartServer(t, e2etest.Options{}) // acme-* only, asked with a Bearer token
	work := t.TempDir()
	plain := e2etest.Unique("up-plain")
	scoped := e2etest.Unique("acme-core")

	// The publisher's cargo knows both upstreams.
	pubHome := filepath.Join(work, "publisher")
	writeFile(t, filepath.Join(pubHome, "config.toml"), fmt.Sprintf(
		"[registries.public]\nindex = \"sparse+%s/cargo/\"\n\n[registries.private]\nindex = \"sparse+%s/cargo/\"\n\n"+
			"[registry]\nglobal-credential-providers = [\"cargo:token\"]\n\n[net]\nretry = 0\n", public.URL, private.URL))
	writeFile(t, filepath.Join(pubHome, "credentials.toml"), fmt.Sprintf(
		"[registries.public]\ntoken = %q\n\n[registries.private]\ntoken = %q\n", public.Token, private.Token))
	pubEnv := []string{"CARGO_HOME=" + pubHome, "CARGO_TERM_COLOR=never", "CARGO_TARGET_DIR=" + filepath.Join(work, "pubtarget")}
	publish := func(registry, name, vers, value string) {
		dir := filepath.Join(work, "src", registry, name+"-"+vers)
		writeFile(t, filepath.Join(dir, "Cargo.toml"), manifest(name, vers, ""))
		writeFile(t, filepath.Join(dir, "src", "lib.rs"), "pub fn value() -> u32 { "+value+" }\n")
		e2etest.Run(t, dir, pubEnv, cargo, "publish", "--registry", registry)
	}
	publish("public", plain, "1.0.0", "1")
	publish("private", scoped, "1.0.0", "10")
	publish("public", scoped, "9.9.9", "999") // a squatter on the public upstream, never asked for

	// A third upstream, in this process, whose .crate breaks off once.
	broken := e2etest.Unique("broken")
	brokenCrate := testCrate{name: broken, vers: "1.0.0"}.crateFile(t)
	var cut atomic.Bool
	var dlHits atomic.Int32
	cut.Store(true)
	brokenSrv := httptest.NewServer(brokenUpstream(broken, brokenCrate, &cut, &dlHits))
	t.Cleanup(brokenSrv.Close)

	const ttl = 2 * time.Second
	opts.Env = append(opts.Env, e2etest.UpstreamEnv("CARGO", ttl,
		private.TokenUpstream("", "/cargo", "acme-*"),
		public.BasicUpstream("/cargo", "!acme-*;!broken-*"),
		brokenSrv.URL+"/cargo#broken-*")...)
	ours := e2etest.StartServer(t, opts)

	// build builds an application depending on deps (name → requirement)
	// from a fresh CARGO_HOME pointed at ours only.
	step := 0
	build := func(wantErr bool, deps map[string]string, main string) string {
		step++
		home := filepath.Join(work, fmt.Sprintf("home%d", step))
		writeFile(t, filepath.Join(home, "config.toml"), fmt.Sprintf(
			"[registries.ours]\nindex = \"sparse+%s/cargo/\"\n\n[registry]\nglobal-credential-providers = [\"cargo:token\"]\n\n[net]\nretry = 0\n", ours.URL))
		writeFile(t, filepath.Join(home, "credentials.toml"), fmt.Sprintf("[registries.ours]\ntoken = %q\n", ours.Token))
		app := filepath.Join(work, fmt.Sprintf("app%d", step))
		var d strings.Builder
		for name, req := range deps {
			fmt.Fprintf(&d, "%s = { package = %q, version = %q, registry = \"ours\" }\n", strings.ReplaceAll(name, "-", "_"), name, req)
		}
		writeFile(t, filepath.Join(app, "Cargo.toml"), "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\n"+d.String())
		writeFile(t, filepath.Join(app, "src", "main.rs"), "fn main() { "+main+" }\n")
		env := []string{"CARGO_HOME=" + home, "CARGO_TERM_COLOR=never", "CARGO_TARGET_DIR=" + filepath.Join(app, "target")}
		out, err := e2etest.RunErr(t, app, env, cargo, "run", "--quiet")
		if (err != nil) != wantErr {
			t.Fatalf("cargo run (step %d): %v\n%s", step, err, out)
		}
		return out
	}
	id := func(name string) string { return strings.ReplaceAll(name, "-", "_") }
	sum := fmt.Sprintf(`println!("sum={}", %s::value() + %s::value());`, id(plain), id(scoped))

	// Both from ours, each from its own upstream.
	if out := build(false, map[string]string{plain: "1", scoped: "1"}, sum); !strings.Contains(out, "sum=11") {
		t.Fatalf("build: %s", out)
	}
	fetched := time.Now() // the index files were fetched before
	cfg := httpGet(t, ours.URL+"/cargo/config.json", ours.Token)
	if !strings.Contains(cfg.body, `"dl":"`+ours.URL+`/cargo/api/v1/crates"`) {
		t.Fatalf("config.json: %s", cfg.body)
	}

	// A newer version published upstream appears once the TTL has passed.
	publish("public", plain, "1.1.0", "2")
	time.Sleep(time.Until(fetched.Add(ttl + 100*time.Millisecond)))
	if out := build(false, map[string]string{plain: "=1.1.0", scoped: "1"}, sum); !strings.Contains(out, "sum=12") {
		t.Fatalf("build after the TTL: %s", out)
	}
	fetched = time.Now()

	// Both upstreams stop: builds go on from the cache, from a fresh
	// CARGO_HOME.
	public.Stop(t)
	private.Stop(t)
	time.Sleep(time.Until(fetched.Add(ttl + 100*time.Millisecond))) // the cached index files are stale now
	if out := build(false, map[string]string{plain: "=1.1.0", scoped: "1"}, sum); !strings.Contains(out, "sum=12") {
		t.Fatalf("build with the upstreams down: %s", out)
	}

	// A .crate cut off by the upstream fails the build and is not cached;
	// once the upstream sends it whole, the build works.
	build(true, map[string]string{broken: "1"}, "")
	if ours.DataDir != "" {
		if _, err := os.Stat(filepath.Join(ours.DataDir, filepath.FromSlash(upstreamFileKey(broken, "1.0.0")))); !os.IsNotExist(err) {
			t.Fatalf("the truncated crate was cached: %v", err)
		}
	}
	cut.Store(false)
	hits := dlHits.Load()
	build(false, map[string]string{broken: "1"}, fmt.Sprintf("%s::f();", id(broken)))
	if dlHits.Load() == hits { // on S3 too: the whole crate came from the upstream, not a cache
		t.Fatal("the crate was not fetched again after the truncated download")
	}
}

// brokenUpstream is a sparse registry (at /cargo) holding one version of
// name, whose .crate is cut in half while cut is set; dlHits counts the
// downloads.
func brokenUpstream(name string, crate []byte, cut *atomic.Bool, dlHits *atomic.Int32) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cargo/config.json":
			json.NewEncoder(w).Encode(map[string]string{"dl": "http://" + r.Host + "/cargo/dl/{crate}-{version}.crate"})
		case "/cargo/" + IndexPath(name):
			line, _ := json.Marshal(map[string]any{"name": name, "vers": "1.0.0", "deps": []any{},
				"cksum": sha256Hex(crate), "features": map[string]any{}, "yanked": false})
			w.Write(append(line, '\n'))
		case "/cargo/dl/" + name + "-1.0.0.crate":
			dlHits.Add(1)
			handlertest.WriteBody(w, crate, cut.Load())
		default:
			http.NotFound(w, r)
		}
	}
}
