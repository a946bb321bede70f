package composer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/e2etest"
	"github.com/smartregistry/smartregistry/upstream"
)

// TestE2EComposerMerge: composer installs, from a registry with
// Policy.Merge whose package is held both locally and upstream (both
// in-process, auth on), an upstream-only version through the proxy and a
// version both have as the local one, and a local-only version.
func TestE2EComposerMerge(t *testing.T) {
	composer := e2etest.RequireTool(t, "composer")
	e2etest.RequireTool(t, "php")
	ctx := t.Context()
	name := strings.ReplaceAll(e2etest.Unique("merge"), "-", "") + "/lib"
	origin := newTestEnv(t)
	origin.mustUpload(ctx, pkg{name: name, label: "upstream 1.0.0"}, "1.0.0")
	origin.mustUpload(ctx, pkg{name: name, label: "upstream 1.1.0"}, "1.1.0")
	e := newProxyEnv(t, Config{Upstream: upstream.Policy{Merge: true}},
		core.Upstream{Name: "origin", URL: origin.serve().URL, Token: adminToken})
	e.mustUpload(ctx, pkg{name: name, label: "local 1.1.0"}, "1.1.0")
	e.mustUpload(ctx, pkg{name: name, label: "local 2.0.0"}, "2.0.0")
	srv := e.serve()

	work := t.TempDir()
	home := filepath.Join(work, "home")
	host := strings.TrimPrefix(srv.URL, "http://")
	writeJSON(t, filepath.Join(home, "auth.json"), map[string]any{
		"http-basic": map[string]any{host: map[string]string{"username": "token", "password": adminToken}}})
	env := []string{"COMPOSER_ALLOW_SUPERUSER=1", "COMPOSER_HOME=" + home, "COMPOSER_CACHE_DIR=" + filepath.Join(work, "cache"),
		"COMPOSER_NO_INTERACTION=1", "COMPOSER_DISABLE_XDEBUG_WARN=1"}
	app := newProject(t, filepath.Join(work, "app"), srv.URL)
	label := func() string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(app, "vendor", name, "src", "Lib.php"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, tc := range []struct{ constraint, version, label string }{
		{"1.0.0", "1.0.0", "upstream 1.0.0"}, // upstream only
		{"1.1.0", "1.1.0", "local 1.1.0"},    // both: the local one
		{"^1.0", "1.1.0", "local 1.1.0"},     // resolved again, from composer's cache of the file
		{"^2.0", "2.0.0", "local 2.0.0"},     // local only
	} {
		out := e2etest.Run(t, app, env, composer, "require", name+":"+tc.constraint, "--no-ansi", "--no-progress")
		assertInstalled(t, app, name, tc.version)
		if got := label(); !strings.Contains(got, tc.label) {
			t.Fatalf("%s: installed\n%s\nwant %q; composer said:\n%s", tc.constraint, got, tc.label, out)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(app, "composer.lock")); !strings.Contains(string(b), srv.URL+"/dists/"+name+"/") {
		t.Errorf("dist urls do not point at us:\n%s", b)
	}
}
