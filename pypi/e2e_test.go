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
// the dependency between the two projects, checks hashes in
// --require-hashes mode, and skips a yanked version unless it is pinned
// with ==. Every pip step runs with a current pip and with Debian's own
// (pip 23.0.1 from /usr/bin/python3 -m venv).
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

	// pip from a fresh venv of each Python: the one on PATH (a current
	// pip) and Debian's own (/usr/bin/python3, pip 23.0.1, which predates
	// PEP 714 and breaks on a JSON page carrying dist-info-metadata).
	index := "http://__token__:" + srv.Token + "@" + srv.Host + "/pypi/simple/"
	pips := []*pipClient{newPip(t, work, "current", python, index), newPip(t, work, "debian", debianPython(t), index)}
	mod := func(name string) string { return strings.ReplaceAll(name, "-", "_") }
	for _, pip := range pips {
		t.Run(pip.name, func(t *testing.T) {
			t.Logf("%s: %s", pip.name, pip.version(t))
			if got := pip.install(t, alpha); got != mod(alpha)+"-2.0" {
				t.Fatalf("pip install %s installed %s, want 2.0", alpha, got)
			}
			if got := pip.install(t, alpha+"==1.0"); got != mod(alpha)+"-1.0" {
				t.Fatalf("pip install %s==1.0 installed %s", alpha, got)
			}
			if got := pip.install(t, beta); got != mod(alpha)+"-2.0 "+mod(beta)+"-1.0" {
				t.Fatalf("pip install %s installed %s, want it and its dependency", beta, got)
			}
			dl := filepath.Join(work, "download-"+pip.name)
			pip.run(t, "download", "--no-cache-dir", "--index-url", index, "--no-deps", "-d", dl, alpha+"==1.0")
			got, err := os.ReadFile(filepath.Join(dl, dists[0].wheelName()))
			if err != nil || !bytes.Equal(got, dists[0].wheel(t)) {
				t.Fatalf("pip download: %v", err)
			}
			// Hash-checking mode: the right hashes install, a wrong one is
			// refused by pip after the download.
			good := alpha + "==1.0 --hash=sha256:" + sha256Hex(dists[0].wheel(t)) + " --hash=sha256:" + sha256Hex(dists[0].sdist(t))
			if got := pip.install(t, "-r", pip.requirements(t, good)); got != mod(alpha)+"-1.0" {
				t.Fatalf("pip install --require-hashes installed %s", got)
			}
			bad := alpha + "==1.0 --hash=sha256:" + strings.Repeat("0", 64)
			out, err := pip.runErr(t, "install", "--no-cache-dir", "--index-url", index, "--target", t.TempDir(),
				"-r", pip.requirements(t, bad))
			if err == nil || !strings.Contains(out, "DO NOT MATCH THE HASHES") {
				t.Fatalf("pip install with a wrong hash: err=%v\n%s", err, out)
			}
		})
	}

	// Yank 2.0: pip install picks 1.0, unless 2.0 is pinned.
	call(t, srv, http.MethodPut, "/pypi/"+alpha+"/2.0/yank?reason=broken")
	for _, pip := range pips {
		t.Run(pip.name+" after yank", func(t *testing.T) {
			if got := pip.install(t, alpha); got != mod(alpha)+"-1.0" {
				t.Fatalf("pip install %s with 2.0 yanked installed %s, want 1.0", alpha, got)
			}
			if got := pip.install(t, alpha+"==2.0"); got != mod(alpha)+"-2.0" {
				t.Fatalf("pip install %s==2.0 (yanked) installed %s", alpha, got)
			}
		})
	}
	if !strings.Contains(srv.Logs(), ".whl.metadata") {
		t.Errorf("pip never fetched a PEP 658 metadata file")
	}
}

// debianPython is the distribution's own Python, whose venv brings the
// distribution's pip; a machine without it (or without python3-venv) skips.
func debianPython(t *testing.T) string {
	t.Helper()
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import venv, ensurepip").Run(); err != nil {
		e2etest.Missing(t, python+" with venv and ensurepip is not installed (apt python3-venv; make test installs it)")
	}
	return python
}

// pipClient is pip in a fresh venv made by one Python.
type pipClient struct {
	name, dir, index string
	python           string // the venv's python
}

func newPip(t *testing.T, work, name, python, index string) *pipClient {
	t.Helper()
	venv := filepath.Join(work, "venv-"+name)
	run(t, work, python, "-m", "venv", venv)
	return &pipClient{name: name, dir: work, index: index, python: filepath.Join(venv, "bin", "python")}
}

func (p *pipClient) version(t *testing.T) string {
	return strings.TrimSpace(p.run(t, "--version"))
}

func (p *pipClient) run(t *testing.T, args ...string) string {
	t.Helper()
	return run(t, p.dir, p.python, append([]string{"-m", "pip"}, args...)...)
}

func (p *pipClient) runErr(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return runErr(t, p.dir, p.python, append([]string{"-m", "pip"}, args...)...)
}

// install installs into a new --target directory and returns what is
// there (see installed).
func (p *pipClient) install(t *testing.T, spec ...string) string {
	t.Helper()
	target := filepath.Join(p.dir, "t-"+e2etest.Unique("x"))
	args := append([]string{"install", "--no-cache-dir", "--index-url", p.index, "--target", target}, spec...)
	p.run(t, args...)
	return installed(t, target)
}

// requirements writes a requirements file with the given lines.
func (p *pipClient) requirements(t *testing.T, lines ...string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "requirements.txt")
	writeFile(t, f, []byte(strings.Join(lines, "\n")+"\n"))
	return f
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
