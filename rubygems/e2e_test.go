package rubygems

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/internal/e2etest"
)

// TestGemAndBundler drives the example server with the real clients, on
// the filesystem and on MinIO: gem build and gem push of two versions, a
// prerelease and a platform variant of one gem and of a gem that depends
// on it; a re-push refused with gem's text; gem install from a fresh
// GEM_HOME with only our source (credentials in the source URL: reads are
// not anonymous); gem yank, after which the version no longer installs;
// bundle install of a Gemfile needing the dependent gem; and, after a new
// version is pushed, a second bundle install asking only for the appended
// part of /versions (206, from the server's request log).
func TestGemAndBundler(t *testing.T) {
	gem := e2etest.RequireTool(t, "gem")
	bundle := e2etest.RequireTool(t, "bundle")
	for _, backend := range []struct {
		name string
		s3   bool
	}{{"filesystem", false}, {"s3", true}} {
		t.Run(backend.name, func(t *testing.T) {
			srv := e2etest.StartServer(t, e2etest.Options{S3: backend.s3})
			c := newGemClient(t, gem, srv)
			base := e2etest.Unique("srbase")
			app := e2etest.Unique("srapp")
			gems := []testGem{
				{name: base, version: "1.0.0"},
				{name: base, version: "2.0.0"},
				{name: base, version: "2.0.0", platform: "x86_64-linux"},
				{name: base, version: "2.1.0.pre"},
				{name: app, version: "1.0.0", deps: map[string]string{base: ">= 1.0"}},
			}
			for _, g := range gems {
				out := c.push(t, c.build(t, g))
				if !strings.Contains(out, "Successfully registered gem") {
					t.Fatalf("gem push %s: %s", g.fullName(), out)
				}
			}
			// A re-push of a version, other bytes: refused with gem's text.
			again := testGem{name: base, version: "1.0.0", summary: "changed"}
			if out, err := c.pushErr(t, c.build(t, again)); err == nil || !strings.Contains(out, "Repushing of gem versions is not allowed") {
				t.Fatalf("re-push: err=%v\n%s", err, out)
			}

			// gem install from a fresh GEM_HOME with only our source.
			if got := c.install(t, base); !strings.Contains(got, base+"-2.0.0") {
				t.Fatalf("gem install %s installed %q, want 2.0.0", base, got)
			}
			if got := c.install(t, base, "--pre"); !strings.Contains(got, base+"-2.1.0.pre") {
				t.Fatalf("gem install --pre installed %q", got)
			}
			if got := c.install(t, app); !strings.Contains(got, app+"-1.0.0") || !strings.Contains(got, base+"-2.0.0") {
				t.Fatalf("gem install %s installed %q, want it and its dependency", app, got)
			}
			if got := c.install(t, base, "-v", "1.0.0"); !strings.Contains(got, base+"-1.0.0") {
				t.Fatalf("gem install -v 1.0.0 installed %q", got)
			}
			// gem yank: the version no longer installs (a fresh HOME: gem
			// caches specs there).
			out := e2etest.Run(t, c.work, c.env(), gem, "yank", "--host", c.host, base, "-v", "1.0.0")
			if !strings.Contains(out, "Successfully deleted") {
				t.Fatalf("gem yank: %s", out)
			}
			if got, err := c.installErr(t, base, "-v", "1.0.0"); err == nil {
				t.Fatalf("a yanked version installed: %q", got)
			}

			// The legacy index, as gem list and gem specification read it
			// (gem install reads the compact index): the yanked 1.0.0 is gone.
			list := e2etest.Run(t, c.work, c.readEnv(t), gem, "list", "--remote", "--all", "--clear-sources", "--source", c.source, "^sr")
			if !strings.Contains(list, base+" (2.0.0 ruby x86_64-linux)\n") || !strings.Contains(list, app+" (1.0.0)") {
				t.Errorf("gem list --remote --all:\n%s", list)
			}
			pre := e2etest.Run(t, c.work, c.readEnv(t), gem, "list", "--remote", "--prerelease", "--clear-sources", "--source", c.source, "^sr")
			if !strings.Contains(pre, base+" (2.1.0.pre)") {
				t.Errorf("gem list --remote --prerelease:\n%s", pre)
			}
			spec := e2etest.Run(t, c.work, c.readEnv(t), gem, "specification", "--remote", "--clear-sources", "--source", c.source, app)
			if !strings.Contains(spec, "name: "+app) || !strings.Contains(spec, "name: "+base) {
				t.Errorf("gem specification --remote %s:\n%s", app, spec)
			}

			// bundler: a Gemfile needing app, which needs base.
			b := newBundle(t, bundle, c, app)
			b.run(t, "install")
			if lock := b.lock(t); !strings.Contains(lock, app+" (1.0.0)") || !strings.Contains(lock, base+" (2.0.0") {
				t.Fatalf("Gemfile.lock:\n%s", lock)
			}
			// Credentials from bundle config instead of the source URL.
			cfg := newBundleAt(t, bundle, filepath.Join(c.work, "app-config"), c.host, app)
			cfg.run(t, "config", "set", "--global", c.host+"/", "__token__:"+srv.Token)
			cfg.run(t, "install")
			if lock := cfg.lock(t); !strings.Contains(lock, app+" (1.0.0)") {
				t.Fatalf("Gemfile.lock with credentials from bundle config:\n%s", lock)
			}

			// A new version: a second bundle install (the lock removed, so
			// that it resolves again) fetches only the appended part of
			// /versions.
			mark := len(strings.Split(srv.Logs(), "\n"))
			c.push(t, c.build(t, testGem{name: base, version: "2.2.0"}))
			if err := os.Remove(filepath.Join(b.dir, "Gemfile.lock")); err != nil {
				t.Fatal(err)
			}
			b.run(t, "install")
			if lock := b.lock(t); !strings.Contains(lock, base+" (2.2.0)") {
				t.Fatalf("after the second bundle install, Gemfile.lock:\n%s", lock)
			}
			var versions []string
			for _, line := range strings.Split(srv.Logs(), "\n")[max(mark-1, 0):] {
				if strings.Contains(line, "path=/rubygems/versions ") {
					versions = append(versions, line)
				}
			}
			if len(versions) == 0 {
				t.Fatalf("the second bundle install did not ask for /versions:\n%s", srv.Logs())
			}
			for _, line := range versions {
				if !strings.Contains(line, "status=206") {
					t.Errorf("the second bundle install read /versions without a range: %s", line)
				}
			}
		})
	}
}

// testGem is a gem to build.
type testGem struct {
	name, version, platform, summary string
	deps                             map[string]string
}

func (g testGem) fullName() string {
	if g.platform != "" {
		return g.name + "-" + g.version + "-" + g.platform
	}
	return g.name + "-" + g.version
}

// gemspec is the gem's specification in Ruby.
func (g testGem) gemspec() string {
	var b strings.Builder
	summary := g.summary
	if summary == "" {
		summary = "A test gem"
	}
	fmt.Fprintf(&b, "Gem::Specification.new do |s|\n  s.name = %q\n  s.version = %q\n  s.summary = %q\n", g.name, g.version, summary)
	fmt.Fprintf(&b, "  s.authors = [\"Test\"]\n  s.license = \"MIT\"\n  s.files = [\"lib/%s.rb\"]\n  s.required_ruby_version = \">= 2.5\"\n", g.name)
	if g.platform != "" {
		fmt.Fprintf(&b, "  s.platform = %q\n", g.platform)
	}
	for dep, req := range g.deps {
		fmt.Fprintf(&b, "  s.add_dependency %q, %q\n", dep, req)
	}
	b.WriteString("end\n")
	return b.String()
}

// gemClient runs gem with a fresh HOME and GEM_HOME per call.
type gemClient struct {
	gem, work, host, source string
	home                    string
	n                       int
}

func newGemClient(t *testing.T, gem string, srv *e2etest.Server) *gemClient {
	work := t.TempDir()
	c := &gemClient{gem: gem, work: work, host: srv.URL + "/rubygems",
		source: "http://__token__:" + srv.Token + "@" + srv.Host + "/rubygems", home: filepath.Join(work, "home")}
	writeTestFile(t, filepath.Join(c.home, ".gem", "credentials"), "---\n:rubygems_api_key: "+srv.Token+"\n", 0o600)
	return c
}

// env is the environment of gem push and yank: the home holding the
// credentials.
func (c *gemClient) env() []string {
	return []string{"HOME=" + c.home, "GEM_HOME=" + filepath.Join(c.work, "pushhome")}
}

func (c *gemClient) build(t *testing.T, g testGem) string {
	dir := filepath.Join(c.work, "build", g.fullName()+"-"+g.summary)
	writeTestFile(t, filepath.Join(dir, "lib", g.name+".rb"), "module Test; end\n", 0o644)
	writeTestFile(t, filepath.Join(dir, g.name+".gemspec"), g.gemspec(), 0o644)
	e2etest.Run(t, dir, c.env(), c.gem, "build", g.name+".gemspec")
	return filepath.Join(dir, g.fullName()+".gem")
}

func (c *gemClient) push(t *testing.T, file string) string {
	out, err := c.pushErr(t, file)
	if err != nil {
		t.Fatalf("gem push %s: %v\n%s", file, err, out)
	}
	return out
}

func (c *gemClient) pushErr(t *testing.T, file string) (string, error) {
	return e2etest.RunErr(t, c.work, c.env(), c.gem, "push", "--host", c.host, file)
}

// readEnv is a fresh HOME for a read.
func (c *gemClient) readEnv(t *testing.T) []string {
	c.n++
	home := filepath.Join(c.work, fmt.Sprintf("read%d", c.n))
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	return []string{"HOME=" + home, "GEM_SPEC_CACHE=" + filepath.Join(home, "specs")}
}

// install installs into a fresh GEM_HOME, with a fresh HOME, and returns
// the gem directories installed.
func (c *gemClient) install(t *testing.T, args ...string) string {
	got, err := c.installErr(t, args...)
	if err != nil {
		t.Fatalf("gem install %v: %v\n%s", args, err, got)
	}
	return got
}

func (c *gemClient) installErr(t *testing.T, args ...string) (string, error) {
	c.n++
	dir := filepath.Join(c.work, fmt.Sprintf("install%d", c.n))
	home, gemHome := filepath.Join(dir, "home"), filepath.Join(dir, "gems")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"HOME=" + home, "GEM_HOME=" + gemHome, "GEM_PATH=" + gemHome, "GEM_SPEC_CACHE=" + filepath.Join(dir, "specs")}
	out, err := e2etest.RunErr(t, dir, env, c.gem, append([]string{"install", "--no-document", "--clear-sources", "--source", c.source}, args...)...)
	if err != nil {
		return out, err
	}
	entries, _ := os.ReadDir(filepath.Join(gemHome, "gems"))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return strings.Join(names, " "), nil
}

// bundleProject is a directory with a Gemfile and its own HOME and
// BUNDLE_PATH.
type bundleProject struct {
	bundle, dir string
	env         []string
}

func newBundle(t *testing.T, bundle string, c *gemClient, dep string) *bundleProject {
	return newBundleAt(t, bundle, filepath.Join(c.work, "app"), c.source, dep)
}

// newBundleAt is a project in dir whose Gemfile has source and needs dep.
func newBundleAt(t *testing.T, bundle, dir, source, dep string) *bundleProject {
	home := filepath.Join(dir, "home")
	writeTestFile(t, filepath.Join(dir, "Gemfile"), fmt.Sprintf("source %q\ngem %q\n", source, dep), 0o644)
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	return &bundleProject{bundle: bundle, dir: dir, env: []string{"HOME=" + home, "BUNDLE_PATH=" + filepath.Join(dir, "vendor"),
		"BUNDLE_USER_HOME=" + filepath.Join(home, ".bundle"), "BUNDLE_GEMFILE=" + filepath.Join(dir, "Gemfile"),
		"BUNDLE_FROZEN=false", "BUNDLE_DEPLOYMENT=false"}}
}

func (b *bundleProject) run(t *testing.T, args ...string) string {
	return e2etest.Run(t, b.dir, b.env, b.bundle, args...)
}

func (b *bundleProject) lock(t *testing.T) string {
	got, err := os.ReadFile(filepath.Join(b.dir, "Gemfile.lock"))
	if err != nil {
		t.Fatal(err)
	}
	return string(got)
}

func writeTestFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}
