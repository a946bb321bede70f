package npm

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/internal/e2etest"
)

// npmCLI runs the real npm client against an example server, with its own
// HOME, user config and cache.
type npmCLI struct {
	t        testing.TB
	bin      string
	srv      *e2etest.Server
	home     string
	npmrc    string
	cache    string
	registry string
}

func newNpmCLI(t testing.TB, srv *e2etest.Server, token string) *npmCLI {
	t.Helper()
	home := t.TempDir()
	c := &npmCLI{t: t, bin: e2etest.RequireTool(t, "npm"), srv: srv, home: home,
		npmrc: filepath.Join(home, ".npmrc"), cache: filepath.Join(home, "cache"), registry: srv.URL + "/npm/"}
	c.writeConfig(token)
	return c
}

// writeConfig writes the user config: our registry and, when not empty,
// the token for it.
func (c *npmCLI) writeConfig(token string) {
	cfg := "registry=" + c.registry + "\nupdate-notifier=false\nfund=false\n"
	if token != "" {
		cfg += "//" + c.srv.Host + "/npm/:_authToken=" + token + "\n"
	}
	if err := os.WriteFile(c.npmrc, []byte(cfg), 0o600); err != nil {
		c.t.Fatal(err)
	}
}

func (c *npmCLI) env() []string {
	return []string{"HOME=" + c.home, "NO_COLOR=1", "npm_config_loglevel=warn"}
}

func (c *npmCLI) args(args []string) []string {
	return append(args, "--userconfig="+c.npmrc, "--cache="+c.cache)
}

// run runs npm in dir and returns its output; it fails the test on error.
func (c *npmCLI) run(dir string, args ...string) string {
	c.t.Helper()
	return e2etest.Run(c.t, dir, c.env(), c.bin, c.args(args)...)
}

// fails runs npm in dir, expects it to fail, and returns its output.
func (c *npmCLI) fails(dir string, args ...string) string {
	c.t.Helper()
	out, err := e2etest.RunErr(c.t, dir, c.env(), c.bin, c.args(args)...)
	if err == nil {
		c.t.Fatalf("npm %s succeeded, want a failure:\n%s", strings.Join(args, " "), out)
	}
	return out
}

// writePackage writes a package's source directory.
func writePackage(t testing.TB, dir, name, version, description string) string {
	t.Helper()
	pkgDir := filepath.Join(dir, strings.NewReplacer("@", "", "/", "_").Replace(name)+"-"+version)
	if err := os.MkdirAll(pkgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	pj, _ := json.Marshal(map[string]any{"name": name, "version": version, "description": description,
		"keywords": []string{"e2e"}, "main": "index.js", "license": "MIT"})
	for f, data := range map[string][]byte{"package.json": pj,
		"index.js": []byte(fmt.Sprintf("module.exports = %q\n", name+"@"+version))} {
		if err := os.WriteFile(filepath.Join(pkgDir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return pkgDir
}

func mustContain(t testing.TB, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Fatalf("%s: output lacks %q:\n%s", what, w, out)
		}
	}
}

// TestE2ENpmCLI drives the npm CLI through everything it does against a
// private registry, against the example server on filesystem storage.
func TestE2ENpmCLI(t *testing.T) { npmCLIScenario(t, e2etest.Options{}) }

// TestE2ENpmCLIS3 is the same with the example server on MinIO.
func TestE2ENpmCLIS3(t *testing.T) { npmCLIScenario(t, e2etest.OnS3(t)) }

func npmCLIScenario(t *testing.T, opts e2etest.Options) {
	srv := e2etest.StartServer(t, opts)
	npm := newNpmCLI(t, srv, srv.Token)
	work := t.TempDir()
	plain := e2etest.Unique("e2e-plain")
	scoped := "@e2e/" + e2etest.Unique("lib")

	// Publish: unscoped, scoped, a second version, a beta under its tag.
	mustContain(t, "publish", npm.run(writePackage(t, work, plain, "1.0.0", "plain package for e2e"), "publish"), "+ "+plain+"@1.0.0")
	mustContain(t, "publish scoped", npm.run(writePackage(t, work, scoped, "1.0.0", "scoped package"), "publish"), "+ "+scoped+"@1.0.0")
	npm.run(writePackage(t, work, plain, "1.1.0", "plain package for e2e"), "publish")
	mustContain(t, "publish beta", npm.run(writePackage(t, work, plain, "2.0.0-beta.1", "plain package for e2e"), "publish", "--tag", "beta"),
		"+ "+plain+"@2.0.0-beta.1")

	// View.
	mustContain(t, "view", npm.run(work, "view", plain), plain+"@1.1.0", "latest: 1.1.0", "beta: 2.0.0-beta.1",
		srv.URL+"/npm/"+plain+"/-/"+plain+"-1.1.0.tgz")
	mustContain(t, "view version", npm.run(work, "view", scoped+"@1.0.0", "version"), "1.0.0")

	// Install in a fresh directory with a fresh cache.
	app := filepath.Join(work, "app")
	os.MkdirAll(app, 0o755)
	os.WriteFile(filepath.Join(app, "package.json"), []byte(`{"name":"app","version":"1.0.0","private":true}`), 0o644)
	npm.cache = filepath.Join(t.TempDir(), "cache")
	npm.run(app, "install", "--prefer-online", plain, scoped)
	for pkg, version := range map[string]string{plain: "1.1.0", scoped: "1.0.0"} {
		b, err := os.ReadFile(filepath.Join(app, "node_modules", pkg, "package.json"))
		if err != nil || !strings.Contains(string(b), `"version":"`+version+`"`) {
			t.Fatalf("installed %s: %v %s", pkg, err, b)
		}
	}
	mustContain(t, "audit", npm.run(app, "audit"), "found 0 vulnerabilities")

	// Dist-tags.
	npm.run(work, "dist-tag", "add", plain+"@1.0.0", "stable")
	out := npm.run(work, "dist-tag", "ls", plain)
	mustContain(t, "dist-tag ls", out, "stable: 1.0.0", "beta: 2.0.0-beta.1", "latest: 1.1.0")
	npm.run(work, "dist-tag", "rm", plain, "beta")
	if out := npm.run(work, "dist-tag", "ls", plain); strings.Contains(out, "beta") {
		t.Fatalf("beta still tagged:\n%s", out)
	}

	// Deprecate and un-deprecate.
	npm.run(work, "deprecate", plain+"@1.0.0", "use 1.1.0")
	mustContain(t, "deprecated", npm.run(work, "view", plain+"@1.0.0", "deprecated"), "use 1.1.0")
	npm.run(work, "deprecate", plain+"@1.0.0", "")
	if out := npm.run(work, "view", plain+"@1.0.0", "deprecated"); strings.TrimSpace(out) != "" {
		t.Fatalf("still deprecated: %q", out)
	}

	// Unpublish one version.
	npm.run(work, "unpublish", plain+"@1.0.0")
	out = npm.run(work, "view", plain, "versions", "--json")
	if strings.Contains(out, `"1.0.0"`) || !strings.Contains(out, `"1.1.0"`) {
		t.Fatalf("versions after unpublish: %s", out)
	}

	// Owners: the publisher is the first; add, list, remove; and the
	// packages the user may write.
	mustContain(t, "owner ls", npm.run(work, "owner", "ls", plain), srv.AdminUser)
	npm.run(work, "owner", "add", "second-owner", plain)
	mustContain(t, "owner ls after add", npm.run(work, "owner", "ls", plain), srv.AdminUser, "second-owner")
	npm.run(work, "owner", "rm", "second-owner", plain)
	if out := npm.run(work, "owner", "ls", plain); strings.Contains(out, "second-owner") {
		t.Fatalf("owner still listed after rm:\n%s", out)
	}
	mustContain(t, "access list packages", npm.run(work, "access", "list", "packages", "--json"), plain, "read-write")

	// Search, whoami.
	mustContain(t, "search", npm.run(work, "search", plain), plain, "plain package for e2e")
	mustContain(t, "search scoped", npm.run(work, "search", "scoped package"), scoped)
	mustContain(t, "whoami", npm.run(work, "whoami"), srv.AdminUser)

	// Tokens: create (npm sends the password), list, use, revoke.
	out = npm.run(work, "token", "create", "--password="+srv.AdminPassword)
	created := regexp.MustCompile(`Created token (\S+)`).FindStringSubmatch(out)
	if created == nil {
		t.Fatalf("token create:\n%s", out)
	}
	out = npm.run(work, "token", "list")
	ids := regexp.MustCompile(`with id (\S+)`).FindAllStringSubmatch(out, -1)
	if len(ids) != 1 {
		t.Fatalf("token list:\n%s", out)
	}
	other := newNpmCLI(t, srv, created[1])
	mustContain(t, "whoami with the new token", other.run(work, "whoami"), srv.AdminUser)
	mustContain(t, "token revoke", npm.run(work, "token", "revoke", ids[0][1]), "Removed 1 token")
	mustContain(t, "revoked token", other.fails(work, "whoami"), "E401")
	out = npm.run(work, "token", "create", "--password="+srv.AdminPassword, "--packages-and-scopes-permission=read-only")
	created = regexp.MustCompile(`Created token (\S+)`).FindStringSubmatch(out)
	if created == nil {
		t.Fatalf("read-only token:\n%s", out)
	}
	reader := newNpmCLI(t, srv, created[1])
	mustContain(t, "view with a read-only token", reader.run(work, "view", scoped, "version"), "1.0.0")
	mustContain(t, "publish with a read-only token",
		reader.fails(writePackage(t, work, scoped, "1.0.1", "scoped package"), "publish"), "E403", "read-only")

	// Legacy login, answering the prompts.
	login := newNpmCLI(t, srv, "")
	login.login(t, work, srv.AdminUser, srv.AdminPassword)
	mustContain(t, "whoami after login", login.run(work, "whoami"), srv.AdminUser)
	cfg, _ := os.ReadFile(login.npmrc)
	loginToken := regexp.MustCompile(`_authToken=(\S+)`).FindSubmatch(cfg)
	login.run(work, "logout")
	mustContain(t, "whoami after logout", login.fails(work, "whoami"), "ENEEDAUTH")
	if loginToken == nil {
		t.Fatalf("no token in the config after login:\n%s", cfg)
	}
	login.writeConfig(string(loginToken[1]))
	mustContain(t, "whoami with the token logged out", login.fails(work, "whoami"), "E401")

	// Unpublish a whole package.
	npm.run(work, "unpublish", plain, "--force")
	mustContain(t, "view unpublished", npm.fails(work, "view", plain), "E404")
	mustContain(t, "republish", npm.fails(writePackage(t, work, plain, "1.1.0", "again"), "publish"), "previously")
}

// login runs "npm login --auth-type=legacy" and answers its prompts as
// they appear.
func (c *npmCLI) login(t *testing.T, dir, user, password string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, c.args([]string{"login", "--auth-type=legacy"})...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), c.env()...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var transcript bytes.Buffer
	done := make(chan error, 1)
	go func() {
		r := bufio.NewReader(io.TeeReader(pr, &transcript))
		answers := []struct{ prompt, answer string }{{"Username:", user}, {"Password:", password}}
		var seen strings.Builder
		for len(answers) > 0 {
			b, err := r.ReadByte()
			if err != nil {
				done <- fmt.Errorf("waiting for %q: %w", answers[0].prompt, err)
				return
			}
			seen.WriteByte(b)
			if strings.HasSuffix(seen.String(), answers[0].prompt) {
				io.WriteString(stdin, answers[0].answer+"\n")
				answers = answers[1:]
			}
		}
		stdin.Close()
		_, err := io.Copy(io.Discard, r)
		done <- err
	}()
	werr := cmd.Wait()
	pw.Close()
	if err := <-done; err != nil && werr == nil {
		werr = err
	}
	if werr != nil {
		t.Fatalf("npm login: %v\n%s", werr, transcript.String())
	}
	mustContain(t, "npm login", transcript.String(), "Logged in")
	b, _ := os.ReadFile(c.npmrc)
	if !strings.Contains(string(b), "_authToken=") {
		t.Fatalf("no token saved:\n%s", b)
	}
}

// httpClient sends requests to an example server's npm API over HTTP.
type httpClient struct {
	t    testing.TB
	base string // e.g. http://127.0.0.1:1234/npm
}

func (c *httpClient) do(ctx context.Context, method, target, token string, body io.Reader, header ...string) result {
	c.t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, c.base+target, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, header: resp.Header, body: b}
}

// TestE2EConcurrentPublishesS3 runs the lost-update test against two
// example servers (two Registry instances) sharing one MinIO bucket.
func TestE2EConcurrentPublishesS3(t *testing.T) {
	e2etest.S3Env(t)
	bucket := "npm-race-" + strings.ToLower(e2etest.Unique("b")[2:])
	token := "race-" + e2etest.Unique("token")
	env := []string{"SMARTREGISTRY_S3_BUCKET=" + bucket, "SMARTREGISTRY_TOKEN=" + token}
	var clients []client
	for range 2 {
		srv := e2etest.StartServer(t, e2etest.Options{S3: true, Env: env})
		clients = append(clients, &httpClient{t: t, base: srv.URL + "/npm"})
	}
	concurrentPublishes(t, clients, token)
}

// BenchmarkE2ENpmInstall50 times "npm install" of 50 packages from a cold
// cache against the example server (the packages are published once, over
// HTTP, before the timer starts).
func BenchmarkE2ENpmInstall50(b *testing.B) {
	srv := e2etest.StartServer(b, e2etest.Options{})
	npm := newNpmCLI(b, srv, srv.Token)
	api := &httpClient{t: b, base: srv.URL + "/npm"}
	var names []string
	for i := range 50 {
		name := fmt.Sprintf("%s-%02d", e2etest.Unique("bench"), i)
		if r := api.do(b.Context(), http.MethodPut, "/"+name, srv.Token, bytes.NewReader(newPublish(b, name, "1.0.0").body())); r.status != http.StatusCreated {
			b.Fatalf("publish %s: %d %s", name, r.status, r.body)
		}
		names = append(names, name)
	}
	for b.Loop() {
		b.StopTimer()
		app := b.TempDir()
		os.WriteFile(filepath.Join(app, "package.json"), []byte(`{"name":"app","version":"1.0.0","private":true}`), 0o644)
		npm.cache = filepath.Join(b.TempDir(), "cache")
		b.StartTimer()
		npm.run(app, append([]string{"install", "--prefer-online", "--no-audit"}, names...)...)
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/install")
}
