package cargo

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/internal/e2etest"
)

// TestCargo drives the example server with the real cargo, on the
// filesystem and on MinIO, with the registry requiring a token for reads
// (auth-required) and with anonymous read: cargo login; cargo publish of a
// helper crate and of two versions of a library, the second with a
// feature ("dep:" syntax) that enables a renamed optional dependency on the
// helper; a refused re-publish; cargo build and run of an application
// using the library with that feature, from a fresh CARGO_HOME whose token
// is in credentials.toml, fetching everything from the registry; cargo
// yank and --undo, seen in the index and by the resolver; cargo search;
// cargo owner --list, --add, --remove.
func TestCargo(t *testing.T) {
	cargo := requireCargo(t)
	for _, tc := range []struct {
		name string
		opts e2etest.Options
		auth bool
	}{
		{"filesystem/auth-required", e2etest.Options{}, true},
		{"filesystem/anonymous-read", e2etest.Options{Env: []string{"SMARTREGISTRY_ANONYMOUS_READ=cargo"}}, false},
		{"s3/auth-required", e2etest.Options{S3: true}, true},
		{"s3/anonymous-read", e2etest.Options{S3: true, Env: []string{"SMARTREGISTRY_ANONYMOUS_READ=cargo"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := e2etest.StartServer(t, tc.opts)
			runCargoFlow(t, cargo, srv, tc.auth)
		})
	}
}

func runCargoFlow(t *testing.T, cargo string, srv *e2etest.Server, authRequired bool) {
	work := t.TempDir()
	index := srv.URL + "/cargo/"
	config := fmt.Sprintf("[registries.private]\nindex = \"sparse+%s\"\n\n[registry]\nglobal-credential-providers = [\"cargo:token\"]\n\n[net]\nretry = 0\n", index)

	// config.json says whether reads need the token; anonymous requests
	// for it get 401 + WWW-Authenticate when they do.
	if resp := httpGet(t, index+"config.json", ""); authRequired != (resp.status == http.StatusUnauthorized) ||
		(authRequired && !strings.HasPrefix(resp.header.Get("WWW-Authenticate"), "Cargo")) {
		t.Fatalf("anonymous config.json: %d %q %s", resp.status, resp.header.Get("WWW-Authenticate"), resp.body)
	}
	if resp := httpGet(t, index+"config.json", srv.Token); resp.status != 200 ||
		!strings.Contains(resp.body, fmt.Sprintf(`"auth-required":%v`, authRequired)) {
		t.Fatalf("config.json: %d %s", resp.status, resp.body)
	}

	home := filepath.Join(work, "cargo-home")
	writeFile(t, filepath.Join(home, "config.toml"), config)
	env := []string{"CARGO_HOME=" + home, "CARGO_TERM_COLOR=never", "CARGO_TARGET_DIR=" + filepath.Join(work, "target")}
	login := exec.Command(cargo, "login", "--registry", "private")
	login.Env = append(os.Environ(), env...)
	login.Stdin = strings.NewReader(srv.Token + "\n")
	if out, err := login.CombinedOutput(); err != nil {
		t.Fatalf("cargo login: %v\n%s", err, out)
	}

	helper := e2etest.Unique("sr-helper")
	lib := e2etest.Unique("sr_lib") // "sr_lib-<hex>": cargo finds it among the spellings it tries
	crates := []struct{ dir, manifest, src string }{
		{"helper", manifest(helper, "1.0.0", ""), "pub fn value() -> u32 { 42 }\n"},
		{"lib1", manifest(lib, "0.1.0", ""), "pub fn base() -> u32 { 1 }\n"},
		{"lib2", manifest(lib, "0.2.0", fmt.Sprintf(
			"[dependencies]\nh = { package = %q, version = \"1\", registry = \"private\", optional = true }\n\n[features]\nextra = [\"dep:h\"]\n", helper)),
			"pub fn base() -> u32 { 2 }\n\n#[cfg(feature = \"extra\")]\npub fn extra() -> u32 { h::value() }\n"},
	}
	for _, c := range crates {
		dir := filepath.Join(work, c.dir)
		writeFile(t, filepath.Join(dir, "Cargo.toml"), c.manifest)
		writeFile(t, filepath.Join(dir, "src", "lib.rs"), c.src)
		out := e2etest.Run(t, dir, env, cargo, "publish", "--registry", "private")
		t.Logf("cargo publish %s:\n%s", c.dir, out)
	}
	// A re-publish of a version is refused (by cargo, which reads the
	// index first, or by the registry).
	if out, err := e2etest.RunErr(t, filepath.Join(work, "lib2"), env, cargo, "publish", "--registry", "private"); err == nil ||
		!strings.Contains(out, "already") {
		t.Errorf("re-publish of %s 0.2.0: %v\n%s", lib, err, out)
	}

	libIndex := index + IndexPath(lib)
	token := srv.Token
	lines := httpGet(t, libIndex, token)
	if lines.status != 200 || strings.Count(lines.body, "\n") != 2 || !strings.Contains(lines.body, `"package":"`+helper+`"`) ||
		!strings.Contains(lines.body, `"features2":{"extra":["dep:h"]}`) || !strings.Contains(lines.body, `"v":2`) {
		t.Fatalf("index file of %s: %d\n%s", lib, lines.status, lines.body)
	}
	if r := httpGetHeader(t, libIndex, token, "If-None-Match", lines.header.Get("ETag")); r.status != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", r.status)
	}
	if r := httpGetHeader(t, libIndex, token, "If-Modified-Since", lines.header.Get("Last-Modified")); r.status != http.StatusNotModified {
		t.Errorf("If-Modified-Since: %d", r.status)
	}

	// An application built from a fresh CARGO_HOME whose token is in
	// credentials.toml: everything comes from the registry.
	home2 := filepath.Join(work, "cargo-home-2")
	writeFile(t, filepath.Join(home2, "config.toml"), config)
	writeFile(t, filepath.Join(home2, "credentials.toml"), fmt.Sprintf("[registries.private]\ntoken = %q\n", srv.Token))
	env2 := []string{"CARGO_HOME=" + home2, "CARGO_TERM_COLOR=never", "CARGO_TARGET_DIR=" + filepath.Join(work, "target2")}
	app := filepath.Join(work, "app")
	writeFile(t, filepath.Join(app, "Cargo.toml"), fmt.Sprintf(
		"[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\nmylib = { package = %q, version = \"0.2\", registry = \"private\", features = [\"extra\"] }\n",
		lib))
	writeFile(t, filepath.Join(app, "src", "main.rs"), "fn main() { println!(\"sum={}\", mylib::base() + mylib::extra()); }\n")
	if out := e2etest.Run(t, app, env2, cargo, "run", "--quiet"); !strings.Contains(out, "sum=44") {
		t.Errorf("cargo run: %s", out)
	}
	if lock, _ := os.ReadFile(filepath.Join(app, "Cargo.lock")); !strings.Contains(string(lock), "sparse+"+index) {
		t.Errorf("Cargo.lock does not name the registry:\n%s", lock)
	}

	// Yank and unyank, seen in the index and by the resolver of a project
	// that pins the yanked version (and has no lock file).
	pinned := filepath.Join(work, "pinned")
	writeFile(t, filepath.Join(pinned, "Cargo.toml"), fmt.Sprintf(
		"[package]\nname = \"pinned\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\nmylib = { package = %q, version = \"=0.1.0\", registry = \"private\" }\n", lib))
	writeFile(t, filepath.Join(pinned, "src", "lib.rs"), "")
	e2etest.Run(t, work, env, cargo, "yank", "--registry", "private", "--version", "0.1.0", lib)
	if r := httpGet(t, libIndex, token); !strings.Contains(r.body, `"vers":"0.1.0","deps":[],"cksum"`) ||
		strings.Count(r.body, `"yanked":true`) != 1 {
		t.Errorf("after yank:\n%s", r.body)
	}
	if out, err := e2etest.RunErr(t, pinned, env2, cargo, "generate-lockfile"); err == nil || !strings.Contains(out, "yanked") {
		t.Errorf("resolving a yanked version: %v\n%s", err, out)
	}
	e2etest.Run(t, work, env, cargo, "yank", "--registry", "private", "--version", "0.1.0", "--undo", lib)
	if r := httpGet(t, libIndex, token); strings.Contains(r.body, `"yanked":true`) {
		t.Errorf("after unyank:\n%s", r.body)
	}
	e2etest.Run(t, pinned, env2, cargo, "generate-lockfile")

	// Search.
	if out := e2etest.Run(t, work, env, cargo, "search", "--registry", "private", lib); !strings.Contains(out, lib+` = "0.2.0"`) {
		t.Errorf("cargo search %s:\n%s", lib, out)
	}

	// Owners.
	owner := func(args ...string) string {
		return e2etest.Run(t, work, env, cargo, append([]string{"owner", "--registry", "private"}, args...)...)
	}
	if out := owner("--list", lib); !strings.Contains(out, srv.AdminUser) {
		t.Errorf("owners of %s: %s", lib, out)
	}
	owner("--add", "alice", lib)
	if out := owner("--list", lib); !strings.Contains(out, "alice") {
		t.Errorf("owners after --add alice: %s", out)
	}
	owner("--remove", "alice", lib)
	if out := owner("--list", lib); strings.Contains(out, "alice") || !strings.Contains(out, srv.AdminUser) {
		t.Errorf("owners after --remove alice: %s", out)
	}
}

// minCargoMinor is the oldest cargo 1.x the tests run: sparse registries
// came in 1.68, credential providers and auth-required in 1.74. (Debian
// 12's own cargo is 1.65; the one rustup installs is current.)
const minCargoMinor = 74

// requireCargo finds cargo and skips (fails when tools are required) when
// it is too old to speak to a sparse registry that requires a token.
func requireCargo(t *testing.T) string {
	t.Helper()
	cargo := e2etest.RequireTool(t, "cargo")
	out, err := exec.Command(cargo, "--version").Output()
	var minor int
	if err == nil {
		_, err = fmt.Sscanf(string(out), "cargo 1.%d", &minor)
	}
	if err != nil || minor < minCargoMinor {
		e2etest.Missing(t, fmt.Sprintf("%s is %q: need cargo 1.%d or later (rustup)", cargo, strings.TrimSpace(string(out)), minCargoMinor))
	}
	return cargo
}

// manifest is a Cargo.toml for a library crate.
func manifest(name, version, rest string) string {
	return fmt.Sprintf("[package]\nname = %q\nversion = %q\nedition = \"2021\"\ndescription = \"smartregistry e2e crate %s\"\nlicense = \"MIT\"\n\n%s",
		name, version, name, rest)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

type httpResult struct {
	status int
	header http.Header
	body   string
}

func httpGet(t *testing.T, url, token string) httpResult { return httpGetHeader(t, url, token, "", "") }

// httpGetHeader GETs url with cargo's bare token (when given) and one
// extra header (when given).
func httpGetHeader(t *testing.T, url, token, key, value string) httpResult {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	if key != "" {
		req.Header.Set(key, value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return httpResult{resp.StatusCode, resp.Header, string(b)}
}
