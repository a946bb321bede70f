package rubygems

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/core/storage/storagetest"
	"github.com/smartregistry/smartregistry/internal/handlertest"
)

// Tokens of the test environment.
const (
	adminToken = "admin-token"
	fooReader  = "foo-reader"
	fooWriter  = "foo-writer"
	fooYanker  = "foo-yanker"
)

// testEnv is a handler on a backend, driven through Handle and
// ErrorResponse as the registry does.
type testEnv struct {
	t       testing.TB
	backend core.Backend
	storage *core.Storage
	h       *Handler
}

func newTestEnv(t testing.TB) *testEnv { return newTestEnvOn(t, memory.New(), false, Config{}) }

func newTestEnvOn(t testing.TB, backend core.Backend, anonymousRead bool, cfg Config) *testEnv {
	t.Helper()
	var anonymous []core.Protocol
	if anonymousRead {
		anonymous = []core.Protocol{core.ProtocolRubyGems}
	}
	deps := handlertest.Deps(t, backend, core.StorageHooks{}, core.DefaultAuthOptions{
		Tokens: []core.StaticToken{
			{Token: adminToken, UserID: "admin"},
			{Token: fooReader, UserID: "reader", Scopes: []string{"rubygems:gem:foo:read"}},
			{Token: fooWriter, UserID: "writer", Scopes: []string{"rubygems:gem:foo:write"}},
			{Token: fooYanker, UserID: "yanker", Scopes: []string{"rubygems:gem:foo:delete"}},
		},
	}, anonymous...)
	h, err := New(deps, cfg)
	if err != nil {
		t.Fatal(err)
	}
	handlertest.CloseAtCleanup(t, h)
	return &testEnv{t: t, backend: backend, storage: deps.Storage, h: h}
}

// request is one call. token is sent as gem sends it (the bare key);
// basic sends user:password as bundler does.
type request struct {
	method, path string
	token        string
	basic        [2]string
	header       map[string]string
	body         []byte
}

type response struct {
	status int
	header http.Header
	body   string
}

func (e *testEnv) do(ctx context.Context, r request) response {
	e.t.Helper()
	if r.method == "" {
		r.method = http.MethodGet
	}
	req := handlertest.Request(e.t, r.method, r.path, r.body, "http://registry.test/rubygems")
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	if r.token != "" {
		req.Header.Set("Authorization", r.token)
	}
	if r.basic[0] != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(r.basic[0]+":"+r.basic[1])))
	}
	resp := handlertest.Do(ctx, e.t, e.h, req, gemsPrefix, filesPrefix, versionsPrefix, uploadsPrefix)
	return response{status: resp.Status, header: resp.Header, body: resp.Body}
}

func (e *testEnv) get(ctx context.Context, path string) response {
	e.t.Helper()
	return e.do(ctx, request{path: path, token: adminToken})
}

// push pushes a gem as gem push does.
func (e *testEnv) push(ctx context.Context, gem []byte) response {
	e.t.Helper()
	return e.do(ctx, request{method: http.MethodPost, path: "/api/v1/gems", token: adminToken,
		header: map[string]string{"Content-Type": "application/octet-stream"}, body: gem})
}

func (e *testEnv) mustPush(ctx context.Context, g fixture) {
	e.t.Helper()
	if r := e.push(ctx, g.gem(e.t)); r.status != http.StatusOK {
		e.t.Fatalf("push %s: %d %s", g.fullName(), r.status, r.body)
	}
}

// keys lists every stored key.
func (e *testEnv) keys(ctx context.Context) []string { return storagetest.Keys(ctx, e.t, e.storage) }

// fixture is a gem built in code: a plain tar of metadata.gz (the
// gemspec as YAML, as gem build writes it), data.tar.gz and
// checksums.yaml.gz.
type fixture struct {
	name, version, platform string
	deps                    map[string]string // runtime dependency → requirement ">= 1.0"
	payload                 int               // extra bytes in data.tar.gz, to make gems differ
	spec                    string            // the YAML, instead of the generated one
}

func (g fixture) fullName() string { return g.name + "-" + versionID(g.version, g.platform) }

// specYAML is the gemspec as gem build (rubygems 3.3) writes it.
func (g fixture) specYAML() string {
	if g.spec != "" {
		return g.spec
	}
	platform := g.platform
	if platform == "" {
		platform = "ruby"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "--- !ruby/object:Gem::Specification\nname: %s\nversion: !ruby/object:Gem::Version\n  version: %s\nplatform: %s\n", g.name, g.version, platform)
	b.WriteString("authors:\n- Test\nautorequire:\nbindir: bin\ncert_chain: []\ndate: 2024-05-01 00:00:00.000000000 Z\ndependencies:\n")
	names := make([]string, 0, len(g.deps))
	for d := range g.deps {
		names = append(names, d)
	}
	sort.Strings(names)
	for _, d := range names {
		op, v, _ := strings.Cut(g.deps[d], " ")
		req := fmt.Sprintf("!ruby/object:Gem::Requirement\n    requirements:\n    - - %q\n      - !ruby/object:Gem::Version\n        version: '%s'\n", op, v)
		fmt.Fprintf(&b, "- !ruby/object:Gem::Dependency\n  name: %s\n  requirement: %s  type: :runtime\n  prerelease: false\n  version_requirements: %s", d, req, req)
	}
	if len(g.deps) == 0 {
		b.WriteString("  []\n")
	}
	b.WriteString("description:\nemail:\nexecutables: []\nextensions: []\nextra_rdoc_files: []\nfiles:\n- lib/x.rb\nhomepage:\nlicenses:\n- MIT\nmetadata: {}\n")
	b.WriteString("post_install_message:\nrdoc_options: []\nrequire_paths:\n- lib\nrequired_ruby_version: !ruby/object:Gem::Requirement\n  requirements:\n  - - \">=\"\n    - !ruby/object:Gem::Version\n      version: '2.5'\n")
	b.WriteString("required_rubygems_version: !ruby/object:Gem::Requirement\n  requirements:\n  - - \">=\"\n    - !ruby/object:Gem::Version\n      version: '0'\n")
	b.WriteString("requirements: []\nrubygems_version: 3.3.15\nsigning_key:\nspecification_version: 4\nsummary: A test gem\ntest_files: []\n")
	return b.String()
}

// gem builds the .gem.
func (g fixture) gem(t testing.TB) []byte {
	t.Helper()
	data := tarGz(t, map[string][]byte{"lib/x.rb": append([]byte("module X; end\n"), bytes.Repeat([]byte("#"), g.payload)...)})
	return gemFile(t, map[string][]byte{"metadata.gz": gz(t, []byte(g.specYAML())), "data.tar.gz": data,
		"checksums.yaml.gz": gz(t, []byte("---\n"))})
}

// gemFile is a plain tar of the given members, in the order gem writes
// them.
func gemFile(t testing.TB, members map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range []string{"metadata.gz", "data.tar.gz", "checksums.yaml.gz"} {
		b, ok := members[name]
		if !ok {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o444, Size: int64(len(b))}); err != nil {
			t.Fatal(err)
		}
		tw.Write(b)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tarGz(t testing.TB, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, b := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b))}); err != nil {
			t.Fatal(err)
		}
		tw.Write(b)
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
