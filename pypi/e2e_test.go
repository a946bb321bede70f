package pypi

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/internal/e2etest"
)

// TestTwineAndPip drives the example server with the real clients: twine
// uploads a wheel and an sdist of two versions of a project and of a
// project that depends on it (and --skip-existing skips a re-upload); then
// pip, in a fresh venv with no other index and credentials in the index
// URL, installs the latest and an older version, downloads a file, resolves
// the dependency between the two projects, and skips a yanked version
// unless it is pinned with ==.
func TestTwineAndPip(t *testing.T) {
	twine := e2etest.RequireTool(t, "twine")
	python := e2etest.RequireTool(t, "python3")
	srv := e2etest.StartServer(t, e2etest.Options{})
	work := t.TempDir()

	alpha := e2etest.Unique("sr-alpha")
	beta := e2etest.Unique("sr-beta")
	var files []string
	dists := []dist{
		{name: alpha, version: "1.0", requiresPython: ">=3.7"},
		{name: alpha, version: "2.0", requiresPython: ">=3.7"},
		{name: beta, version: "1.0", requires: []string{alpha + ">=1.0"}},
	}
	for _, d := range dists {
		for name, content := range map[string][]byte{d.wheelName(): d.wheel(t), d.sdistName(): d.sdist(t)} {
			p := filepath.Join(work, "dist", name)
			writeFile(t, p, content)
			files = append(files, p)
		}
	}

	// twine upload, then the same files again: as on PyPI, a retry of an
	// identical file succeeds.
	repo := srv.URL + "/pypi/"
	twineArgs := []string{"upload", "--repository-url", repo, "-u", "__token__", "-p", srv.Token,
		"--non-interactive", "--disable-progress-bar"}
	out := run(t, work, twine, append(twineArgs, files...)...)
	t.Logf("twine upload:\n%s", out)
	run(t, work, twine, append(twineArgs, files[:2]...)...)
	// Also for a file much larger than what the server reads ahead on its
	// own: the refusal comes before the file is read, and twine must still
	// see it. (urllib3 reads an answer even after a broken pipe, so twine
	// copes with a reset too; TestRefusalBeforeTheFile covers a client that
	// does not.)
	big := dist{name: e2etest.Unique("sr-big"), version: "1.0", payload: 4 << 20}
	bigPath := filepath.Join(work, "big", big.wheelName())
	writeFile(t, bigPath, big.wheel(t))
	run(t, work, twine, append(twineArgs, bigPath)...)
	// Other bytes under a taken file name: refused, "File already exists",
	// which --skip-existing skips.
	changed := dist{name: big.name, version: big.version, payload: big.payload + 1}
	changedPath := filepath.Join(work, "changed", changed.wheelName())
	writeFile(t, changedPath, changed.wheel(t))
	out = run(t, work, twine, append(twineArgs, "--skip-existing", changedPath)...)
	if !strings.Contains(out, "Skipping") {
		t.Fatalf("twine --skip-existing did not skip a large file:\n%s", out)
	}
	if out, err := runErr(t, work, twine, append(twineArgs, "--verbose", changedPath)...); err == nil || !strings.Contains(out, "File already exists") {
		t.Fatalf("second twine upload: err=%v\n%s", err, out)
	}
	// A user and password work as well as a token.
	extra := dist{name: beta, version: "0.9"}
	p := filepath.Join(work, "dist2", extra.sdistName())
	writeFile(t, p, extra.sdist(t))
	run(t, work, twine, "upload", "--repository-url", repo, "-u", srv.AdminUser, "-p", srv.AdminPassword,
		"--non-interactive", "--disable-progress-bar", p)
	// As on PyPI, a deleted file name cannot be uploaded again, and
	// --skip-existing does not hide that.
	call(t, srv, http.MethodDelete, "/pypi/packages/"+NormalizeName(beta)+"/"+extra.sdistName())
	if out, err := runErr(t, work, twine, append(twineArgs, "--skip-existing", "--verbose", p)...); err == nil ||
		!strings.Contains(out, "This filename has already been used") {
		t.Fatalf("twine upload of a deleted file name: err=%v\n%s", err, out)
	}

	// A fresh venv; every install goes to its own --target directory.
	venv := filepath.Join(work, "venv")
	run(t, work, python, "-m", "venv", venv)
	pip := []string{filepath.Join(venv, "bin", "python"), "-m", "pip"}
	index := "http://__token__:" + srv.Token + "@" + srv.Host + "/pypi/simple/"
	install := func(spec string) string {
		t.Helper()
		target := filepath.Join(work, "t-"+e2etest.Unique("x"))
		run(t, work, pip[0], append(pip[1:], "install", "--no-cache-dir", "--index-url", index, "--target", target, spec)...)
		return installed(t, target)
	}
	mod := func(name string) string { return strings.ReplaceAll(name, "-", "_") }

	if got := install(alpha); got != mod(alpha)+"-2.0" {
		t.Fatalf("pip install %s installed %s, want 2.0", alpha, got)
	}
	if got := install(alpha + "==1.0"); got != mod(alpha)+"-1.0" {
		t.Fatalf("pip install %s==1.0 installed %s", alpha, got)
	}
	if got := install(beta); got != mod(alpha)+"-2.0 "+mod(beta)+"-1.0" {
		t.Fatalf("pip install %s installed %s, want it and its dependency", beta, got)
	}
	dl := filepath.Join(work, "download")
	run(t, work, pip[0], append(pip[1:], "download", "--no-cache-dir", "--index-url", index, "--no-deps", "-d", dl, alpha+"==1.0")...)
	got, err := os.ReadFile(filepath.Join(dl, dists[0].wheelName()))
	if err != nil || !bytes.Equal(got, dists[0].wheel(t)) {
		t.Fatalf("pip download: %v", err)
	}

	// Yank 2.0: pip install picks 1.0, unless 2.0 is pinned.
	call(t, srv, http.MethodPut, "/pypi/"+alpha+"/2.0/yank?reason=broken")
	if got := install(alpha); got != mod(alpha)+"-1.0" {
		t.Fatalf("pip install %s with 2.0 yanked installed %s, want 1.0", alpha, got)
	}
	if got := install(alpha + "==2.0"); got != mod(alpha)+"-2.0" {
		t.Fatalf("pip install %s==2.0 (yanked) installed %s", alpha, got)
	}
	if !strings.Contains(srv.Logs(), ".whl.metadata") {
		t.Errorf("pip never fetched a PEP 658 metadata file")
	}
}

// call sends a management request (yank, delete) with the admin token;
// anything but 200 fails the test.
func call(t *testing.T, srv *e2etest.Server, method, path string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("__token__", srv.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s", method, path, resp.Status)
	}
}

// installed lists the distributions in a pip --target directory as
// "name-version", sorted.
func installed(t *testing.T, dir string) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.dist-info"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range m {
		out = append(out, strings.TrimSuffix(filepath.Base(p), ".dist-info"))
	}
	return strings.Join(out, " ")
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	out, err := runErr(t, dir, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// runErr runs a client with the machine's pip and twine settings removed
// (PIP_*, TWINE_*, /etc/pip.conf), so that only the test's index is used.
func runErr(t *testing.T, dir, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PIP_") && !strings.HasPrefix(kv, "TWINE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "PIP_CONFIG_FILE=/dev/null", "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_NO_INPUT=1",
		"PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring")
	out, err := cmd.CombinedOutput()
	return string(out), err
}
