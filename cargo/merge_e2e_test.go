package cargo

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/internal/e2etest"
	"github.com/smartregistry/smartregistry/upstream"
)

// TestE2ECargoMerge: cargo resolves and downloads, from a registry with
// Policy.Merge whose crate is held both locally and upstream (both
// in-process, auth on), an upstream-only version through the proxy and a
// version both have as the local one (cargo checks each .crate against the
// merged index's cksum).
func TestE2ECargoMerge(t *testing.T) {
	cargo := requireCargo(t)
	ctx := t.Context()
	name := strings.ReplaceAll(e2etest.Unique("merge"), "-", "_")
	_, _, up := originWith(t, testCrate{name: name, vers: "1.0.0"}, testCrate{name: name, vers: "1.1.0", payload: 1})
	e := newProxyEnv(t, Config{Upstream: upstream.Policy{Merge: true}}, up)
	e.mustPublish(ctx, testCrate{name: name, vers: "1.1.0", payload: 2})
	srv := serveEnv(t, e)

	work := t.TempDir()
	home := filepath.Join(work, "home")
	writeFile(t, filepath.Join(home, "config.toml"), fmt.Sprintf(
		"[registries.ours]\nindex = \"sparse+%s/cargo/\"\n\n[registry]\nglobal-credential-providers = [\"cargo:token\"]\n\n[net]\nretry = 0\n", srv.URL))
	writeFile(t, filepath.Join(home, "credentials.toml"), fmt.Sprintf("[registries.ours]\ntoken = %q\n", adminToken))
	env := []string{"CARGO_HOME=" + home, "CARGO_TERM_COLOR=never"}
	for _, tc := range []struct {
		vers    string
		payload int
	}{{"1.0.0", 0}, {"1.1.0", 2}} {
		app := filepath.Join(work, "app-"+tc.vers)
		writeFile(t, filepath.Join(app, "Cargo.toml"), fmt.Sprintf("[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n"+
			"[dependencies]\n%s = { version = \"=%s\", registry = \"ours\" }\n", name, tc.vers))
		writeFile(t, filepath.Join(app, "src", "main.rs"), "fn main() {}\n")
		e2etest.Run(t, app, env, cargo, "fetch")
		want := testCrate{name: name, vers: tc.vers, payload: tc.payload}.crateFile(t)
		lock, err := os.ReadFile(filepath.Join(app, "Cargo.lock"))
		if err != nil || !strings.Contains(string(lock), sha256Hex(want)) {
			t.Fatalf("%s: Cargo.lock does not pin the expected crate (%v):\n%s", tc.vers, err, lock)
		}
	}
	if _, err := e.storage.Stat(ctx, upstreamFileKey(NormalizeName(name), "1.0.0")); err != nil {
		t.Fatalf("the upstream crate was not fetched through the proxy: %v", err)
	}
}
