// Package e2etest runs the example server as a real process for end-to-end
// tests with real package-manager clients, and finds those clients.
//
// Tests that need a tool skip with a one-line reason when it is missing,
// unless SMARTREGISTRY_REQUIRE_TOOLS=1 is set (the full test command sets
// it), in which case they fail: in CI nothing skips.
package e2etest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RequireToolsEnv, when "1", turns a missing tool into a test failure.
const RequireToolsEnv = "SMARTREGISTRY_REQUIRE_TOOLS"

// S3 test endpoint variables, set by the full test command when it started
// MinIO.
const (
	S3EndpointEnv  = "SMARTREGISTRY_TEST_S3_ENDPOINT"
	S3AccessKeyEnv = "SMARTREGISTRY_TEST_S3_ACCESS_KEY"
	S3SecretKeyEnv = "SMARTREGISTRY_TEST_S3_SECRET_KEY"
)

// Missing skips the test with reason, or fails it when tools are required.
func Missing(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv(RequireToolsEnv) == "1" {
		t.Fatalf("%s (required: %s=1)", reason, RequireToolsEnv)
	}
	t.Skip(reason)
}

// ToolDir is where the full test command caches the tools it builds
// (MinIO, crane).
func ToolDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "smartregistry", "bin")
}

// RequireTool returns the path of a command-line tool from PATH, ToolDir or
// ~/.cargo/bin, or skips (fails when tools are required) when there is none.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if p := filepath.Join(ToolDir(), name); isExecutable(p) {
		return p
	}
	// rustup installs cargo under ~/.cargo/bin, which is not on every
	// shell's PATH.
	if home, err := os.UserHomeDir(); err == nil {
		if p := filepath.Join(home, ".cargo", "bin", name); isExecutable(p) {
			return p
		}
	}
	Missing(t, name+" is not installed (make test installs it)")
	return ""
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// S3Env returns the MinIO endpoint and keys of the test environment, or
// skips (fails when tools are required) when none is set.
func S3Env(t testing.TB) (endpoint, accessKey, secretKey string) {
	t.Helper()
	endpoint = os.Getenv(S3EndpointEnv)
	if endpoint == "" {
		Missing(t, "no S3 endpoint: set "+S3EndpointEnv)
	}
	return endpoint, os.Getenv(S3AccessKeyEnv), os.Getenv(S3SecretKeyEnv)
}

// Options change how the example server is started.
type Options struct {
	// Env adds environment variables (NAME=value) to the server's.
	Env []string
	// S3 runs the server on the test MinIO instead of the filesystem, in a
	// fresh bucket.
	S3 bool
}

// Server is a running example server.
type Server struct {
	// URL is the server's root, e.g. "http://127.0.0.1:41234".
	URL string
	// Host is URL without the scheme, e.g. "127.0.0.1:41234".
	Host string
	// Token is a fixed token with all scopes for the admin user.
	Token string
	// AdminUser and AdminPassword log in as the admin user.
	AdminUser, AdminPassword string
	// DataDir is the filesystem storage directory (empty on S3).
	DataDir string
	// PID is the server process's id, e.g. to read /proc/<pid>/io.
	PID int

	logPath string
	proc    *os.Process
	exited  chan struct{} // closed once the process has exited
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// serverBinary builds ./examples/server once per test process.
func serverBinary() (string, error) {
	buildOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		removeStaleBuilds()
		dir := filepath.Join(os.TempDir(), fmt.Sprintf("%s%d", buildDirPrefix, os.Getpid()))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "server")
		cmd := exec.Command("go", "build", "-o", binPath, "./examples/server")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build example server: %v\n%s", err, out)
		}
	})
	return binPath, buildErr
}

// buildDirPrefix names the per-process directories the server is built in;
// the process ID follows it.
const buildDirPrefix = "smartregistry-e2e-"

// removeStaleBuilds removes the build directories of test processes that
// have ended: a test binary cannot remove its own on exit.
func removeStaleBuilds() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), buildDirPrefix+"*"))
	for _, d := range dirs {
		pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(d), buildDirPrefix))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(d)
		}
	}
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside the smartregistry module")
	}
	return filepath.Dir(gomod), nil
}

// StartServer builds and starts the example server on a free loopback port
// with fresh storage and waits until /healthz answers. It is stopped with
// SIGTERM when the test ends; its log is printed if the test failed.
func StartServer(t testing.TB, opts Options) *Server {
	t.Helper()
	bin, err := serverBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := &Server{Token: "e2e-" + randomHex(16), AdminUser: "admin", AdminPassword: randomHex(12),
		logPath: filepath.Join(dir, "server.log")}
	env := append(os.Environ(),
		"SMARTREGISTRY_ADDR=127.0.0.1:0",
		"SMARTREGISTRY_TOKEN="+s.Token,
		"SMARTREGISTRY_ADMIN_USER="+s.AdminUser,
		"SMARTREGISTRY_ADMIN_PASSWORD="+s.AdminPassword,
	)
	if opts.S3 {
		ep, key, secret := S3Env(t)
		env = append(env, "SMARTREGISTRY_S3_ENDPOINT="+ep, "SMARTREGISTRY_S3_ACCESS_KEY="+key,
			"SMARTREGISTRY_S3_SECRET_KEY="+secret, "SMARTREGISTRY_S3_BUCKET=e2e-"+randomHex(6))
	} else {
		s.DataDir = filepath.Join(dir, "data")
		env = append(env, "SMARTREGISTRY_DATA="+s.DataDir)
	}
	env = append(env, opts.Env...)

	logFile, err := os.Create(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = env
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.PID = cmd.Process.Pid
	done := make(chan struct{})
	s.proc, s.exited = cmd.Process, done
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logFile.Close()
		if t.Failed() {
			t.Logf("example server log (last lines):\n%s", s.Logs())
		}
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "smartregistry listening on "); ok {
				addr <- rest
			}
		}
		_ = cmd.Wait()
		close(done)
	}()
	select {
	case u := <-addr:
		s.URL = u
	case <-done:
		t.Fatalf("example server exited before listening:\n%s", s.Logs())
	case <-time.After(60 * time.Second):
		t.Fatalf("example server did not start within 60s:\n%s", s.Logs())
	}
	s.Host = strings.TrimPrefix(s.URL, "http://")
	s.waitHealthy(t)
	return s
}

// Stop stops the server (SIGTERM) before the test ends, e.g. to show that
// what it served is still available elsewhere, and waits until its process
// has exited.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if err := s.proc.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("server %s did not exit within 30s of SIGTERM", s.URL)
	}
}

func (s *Server) waitHealthy(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/healthz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("example server not healthy: %v\n%s", err, s.Logs())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Logs returns the last 200 lines of the server's log.
func (s *Server) Logs() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) > 200 {
		lines = lines[len(lines)-200:]
	}
	return strings.Join(lines, "\n")
}

// Run runs a command in dir with extra environment, fails the test with its
// output on error, and returns its combined output.
func Run(t testing.TB, dir string, env []string, name string, args ...string) string {
	t.Helper()
	out, err := RunErr(t, dir, env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// RunErr is Run without failing: it returns the output and the error.
func RunErr(t testing.TB, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Unique returns name with a random suffix, for package names that must not
// collide with earlier runs (clients cache aggressively).
func Unique(name string) string { return name + "-" + randomHex(4) }

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
