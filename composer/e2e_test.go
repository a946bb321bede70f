package composer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/smartregistry/smartregistry/internal/e2etest"
)

// TestComposer drives the example server with the real composer, on the
// filesystem and on MinIO: two versions of <vendor>/util and a
// <vendor>/app that requires util ^1.0 are uploaded (composer cannot
// publish; a Go client PUTs the zips); then, in a fresh project with
// packagist.org disabled and the token in auth.json, `composer require
// app` installs both from our server only, `composer show -a` lists both
// versions of util, a third version is picked by `composer update`, and
// a dev-main version installs with a bearer token.
func TestComposer(t *testing.T) {
	for _, s3 := range []bool{false, true} {
		name := "filesystem"
		if s3 {
			name = "s3"
		}
		t.Run(name, func(t *testing.T) {
			composer := e2etest.RequireTool(t, "composer")
			e2etest.RequireTool(t, "php")
			srv := e2etest.StartServer(t, e2etest.Options{S3: s3})
			composerFlow(t, srv, composer)
		})
	}
}

func composerFlow(t *testing.T, srv *e2etest.Server, composer string) {
	ctx := t.Context()
	vendor := e2etest.Unique("acme")
	util, app := vendor+"/util", vendor+"/app"
	up := func(p pkg, version string) {
		t.Helper()
		p.label = cmpOr(version, p.version)
		status, body := uploadHTTP(ctx, t, srv.URL, srv.Token, p.name, version, p.zip(t))
		if status != http.StatusCreated {
			t.Fatalf("upload %s %s: %d %s", p.name, version, status, body)
		}
	}
	up(pkg{name: util, version: "1.0.0"}, "")
	up(pkg{name: util}, "1.1.0")
	up(pkg{name: app, require: map[string]string{util: "^1.0"}}, "1.0.0")

	work := t.TempDir()
	home := filepath.Join(work, "home")
	env := []string{"COMPOSER_ALLOW_SUPERUSER=1", "COMPOSER_HOME=" + home, "COMPOSER_CACHE_DIR=" + filepath.Join(work, "cache"),
		"COMPOSER_NO_INTERACTION=1", "COMPOSER_DISABLE_XDEBUG_WARN=1"}
	writeJSON(t, filepath.Join(home, "auth.json"), map[string]any{
		"http-basic": map[string]any{srv.Host: map[string]string{"username": "token", "password": srv.Token}}})
	project := newProject(t, filepath.Join(work, "project"), srv.URL+"/composer")
	run := func(dir string, args ...string) string {
		t.Helper()
		out := e2etest.Run(t, dir, env, composer, append(args, "--no-ansi")...)
		t.Logf("composer %s:\n%s", strings.Join(args, " "), out)
		return out
	}

	run(project, "require", app, "--no-progress")
	assertInstalled(t, project, util, "1.1.0")
	assertInstalled(t, project, app, "1.0.0")
	out := run(project, "show", "-a", util)
	if !strings.Contains(out, "1.1.0, 1.0.0") {
		t.Errorf("composer show -a does not list both versions:\n%s", out)
	}
	// composer search asks the search URL of packages.json.
	if out := run(project, "search", vendor); !strings.Contains(out, util) || !strings.Contains(out, app) {
		t.Errorf("composer search does not find both packages:\n%s", out)
	}
	// The autoloader finds the class of the installed version.
	ns := pkg{name: util}.namespace()
	php := fmt.Sprintf(`require "vendor/autoload.php"; echo \%s\Util::VERSION;`, ns)
	if got := e2etest.Run(t, project, env, "php", "-r", php); got != "1.1.0" {
		t.Errorf("the autoloaded class says version %q, want 1.1.0", got)
	}

	// A third version: composer update picks it.
	up(pkg{name: util, version: "1.2.0"}, "")
	run(project, "update", "--no-progress")
	assertInstalled(t, project, util, "1.2.0")

	// A dev branch, installed with dev-main, with a bearer token.
	up(pkg{name: util}, "dev-main")
	home2 := filepath.Join(work, "home2")
	env2 := append(env[:0:0], env...)
	env2 = append(env2, "COMPOSER_HOME="+home2, "COMPOSER_CACHE_DIR="+filepath.Join(work, "cache2"))
	writeJSON(t, filepath.Join(home2, "auth.json"), map[string]any{"bearer": map[string]string{srv.Host: srv.Token}})
	devProject := newProject(t, filepath.Join(work, "dev"), srv.URL+"/composer")
	out = e2etest.Run(t, devProject, env2, composer, "require", util+":dev-main", "--no-progress", "--no-ansi")
	t.Logf("composer require %s:dev-main:\n%s", util, out)
	assertInstalled(t, devProject, util, "dev-main")

	// Without credentials, composer is told to authenticate and fails
	// without prompting.
	home3 := filepath.Join(work, "home3")
	env3 := append(env[:0:0], env...)
	env3 = append(env3, "COMPOSER_HOME="+home3, "COMPOSER_CACHE_DIR="+filepath.Join(work, "cache3"))
	anon := newProject(t, filepath.Join(work, "anon"), srv.URL+"/composer")
	if out, err := e2etest.RunErr(t, anon, env3, composer, "require", app, "--no-progress", "--no-ansi"); err == nil {
		t.Errorf("composer without credentials succeeded:\n%s", out)
	} else if !strings.Contains(out, "401") && !strings.Contains(strings.ToLower(out), "authentication") {
		t.Errorf("composer without credentials did not report the 401:\n%s", out)
	}
}

// newProject writes a root composer.json that uses only our repository.
func newProject(t *testing.T, dir, repoURL string) string {
	t.Helper()
	writeJSON(t, filepath.Join(dir, "composer.json"), map[string]any{
		"name": "test/project",
		"repositories": []any{
			map[string]string{"type": "composer", "url": repoURL},
			map[string]bool{"packagist.org": false},
		},
		"config": map[string]any{"secure-http": false},
	})
	return dir
}

// assertInstalled checks vendor/composer/installed.json for a version.
func assertInstalled(t *testing.T, project, name, version string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(project, "vendor", "composer", "installed.json"))
	if err != nil {
		t.Fatal(err)
	}
	var installed struct {
		Packages []struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			Dist    struct {
				URL string `json:"url"`
			} `json:"dist"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(b, &installed); err != nil {
		t.Fatal(err)
	}
	for _, p := range installed.Packages {
		if p.Name == name {
			if p.Version != version {
				t.Errorf("%s %s installed, want %s", name, p.Version, version)
			}
			return
		}
	}
	t.Errorf("%s not installed:\n%s", name, b)
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// uploadHTTP PUTs a zip to an example server with a token.
func uploadHTTP(ctx context.Context, t testing.TB, server, token, name, version string, zip []byte) (int, string) {
	t.Helper()
	u := server + "/composer/packages/" + name
	if version != "" {
		u += "?version=" + version
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, bytes.NewReader(zip))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("token", token)
	req.Header.Set("Content-Type", "application/zip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// getHTTP GETs a path of an example server with a bearer token.
func getHTTP(ctx context.Context, t testing.TB, server, token, path string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, server+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestE2EConcurrentUploadsS3 uploads 20 versions of one package at once
// through two example servers (two Registry instances) sharing one MinIO
// bucket: all land, and both servers list them with their zips.
func TestE2EConcurrentUploadsS3(t *testing.T) {
	e2etest.S3Env(t)
	bucket := "composer-race-" + strings.ToLower(e2etest.Unique("b")[2:])
	token := "race-" + e2etest.Unique("token")
	env := []string{"SMARTREGISTRY_S3_BUCKET=" + bucket, "SMARTREGISTRY_TOKEN=" + token}
	var servers []string
	for range 2 {
		servers = append(servers, e2etest.StartServer(t, e2etest.Options{S3: true, Env: env}).URL)
	}
	ctx := t.Context()
	const n = 20
	name := e2etest.Unique("race") + "/pkg"
	zips := make([][]byte, n)
	for i := range n {
		zips[i] = pkg{name: name, version: fmt.Sprintf("1.0.%d", i)}.zip(t)
	}
	var wg sync.WaitGroup
	statuses := make([]int, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			statuses[i], _ = uploadHTTP(ctx, t, servers[i%2], token, name, "", zips[i])
		})
	}
	close(start)
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusCreated {
			t.Errorf("upload 1.0.%d: %d", i, s)
		}
	}
	for _, server := range servers {
		status, body := getHTTP(ctx, t, server, token, "/composer/p2/"+name+".json")
		var doc struct {
			Packages map[string][]map[string]json.RawMessage `json:"packages"`
		}
		if err := json.Unmarshal(body, &doc); status != http.StatusOK || err != nil {
			t.Fatalf("p2: %d %v", status, err)
		}
		versions := Expand(doc.Packages[name])
		if len(versions) != n {
			t.Errorf("%s lists %d versions, want %d", server, len(versions), n)
		}
		for _, v := range versions {
			var d dist
			json.Unmarshal(v["dist"], &d)
			if status, b := getHTTP(ctx, t, server, token, strings.TrimPrefix(d.URL, server)); status != http.StatusOK || len(b) == 0 {
				t.Errorf("zip of %s: %d", v["version"], status)
			}
		}
	}
}
