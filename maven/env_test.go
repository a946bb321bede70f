package maven

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/core/storage/storagetest"
	"github.com/smartregistry/smartregistry/internal/handlertest"
)

// Tokens of the test environment.
const (
	adminToken   = "admin-token"
	readerToken  = "reader-token" // maven:artifact:com.example:*:read
	writerToken  = "writer-token" // maven:artifact:com.example:app:write
	readOnlyUser = "admin-ro"
)

// testEnv is a handler on a backend, driven request by request.
type testEnv struct {
	t       testing.TB
	backend core.Backend
	storage *core.Storage
	h       *Handler
}

func newTestEnv(t testing.TB, cfg Config) *testEnv {
	t.Helper()
	return newTestEnvOn(t, memory.New(), cfg, core.StorageHooks{})
}

// newTestEnvOn builds a handler on an existing backend: two environments
// on one backend are two replicas.
func newTestEnvOn(t testing.TB, backend core.Backend, cfg Config, hooks core.StorageHooks) *testEnv {
	t.Helper()
	deps := handlertest.Deps(t, backend, hooks, core.DefaultAuthOptions{
		Users: []core.UserConfig{{Username: "alice", PasswordHash: aliceHash(t)}},
		Tokens: []core.StaticToken{
			{Token: adminToken, UserID: "admin"},
			{Token: readerToken, UserID: "reader", Scopes: []string{"maven:artifact:com.example:*:read"}},
			{Token: writerToken, UserID: "writer", Scopes: []string{"maven:artifact:com.example:app:write"}},
			{Token: readOnlyUser, UserID: "admin", ReadOnly: true},
		},
	})
	h, err := New(deps, cfg)
	if err != nil {
		t.Fatal(err)
	}
	handlertest.CloseAtCleanup(t, h)
	return &testEnv{t: t, backend: backend, storage: deps.Storage, h: h}
}

var (
	aliceOnce   sync.Once
	aliceHashed string
	aliceErr    error
)

// aliceHash hashes alice's password once per test process: hashing is
// slow on purpose.
func aliceHash(t testing.TB) string {
	aliceOnce.Do(func() { aliceHashed, aliceErr = core.HashPassword("alice-password") })
	if aliceErr != nil {
		t.Fatal(aliceErr)
	}
	return aliceHashed
}

// request is one call; token is sent as Basic <user>:<token> (as Maven
// sends a <server> password), bearer as Bearer.
type request struct {
	method, path string
	body         string
	token        string
	bearer       string
	user, pass   string
}

type response struct {
	status int
	header http.Header
	body   string
}

func (e *testEnv) do(ctx context.Context, r request) response {
	e.t.Helper()
	var body io.Reader
	if r.body != "" {
		body = bytes.NewReader([]byte(r.body))
	}
	req := core.NewRequest(r.method, r.path, body)
	req.BaseURL = "http://registry.test/maven"
	switch {
	case r.token != "":
		req.Header.Set("Authorization", basic("deployer", r.token))
	case r.bearer != "":
		req.Header.Set("Authorization", "Bearer "+r.bearer)
	case r.user != "":
		req.Header.Set("Authorization", basic(r.user, r.pass))
	}
	resp := handlertest.Do(ctx, e.t, e.h, req)
	out := response{status: resp.Status, header: resp.Header}
	if r.method != http.MethodHead {
		out.body = resp.Body
	}
	return out
}

func basic(user, pass string) string {
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(user, pass)
	return req.Header.Get("Authorization")
}

// deploy PUTs a file and its sha1 and md5 as mvn does, and fails the test
// on any status but 201.
func (e *testEnv) deploy(ctx context.Context, path, content string) {
	e.t.Helper()
	for _, r := range []request{
		{method: "PUT", path: path, body: content, token: adminToken},
		{method: "PUT", path: path + ".sha1", body: sha1Hex(content), token: adminToken},
	} {
		if got := e.do(ctx, r); got.status != http.StatusCreated {
			e.t.Fatalf("PUT %s: %d %s", r.path, got.status, got.body)
		}
	}
}

func (e *testEnv) get(ctx context.Context, path string) response {
	e.t.Helper()
	return e.do(ctx, request{method: "GET", path: path, token: adminToken})
}

func (e *testEnv) keys(ctx context.Context) []string {
	return storagetest.Keys(ctx, e.t, e.storage)
}

func sha1Hex(s string) string {
	sum := sha1.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// artifactMetadata is what a client uploads at artifact level.
func artifactMetadata(group, artifact string, versions ...string) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata><groupId>%s</groupId><artifactId>%s</artifactId><versioning><versions>", group, artifact)
	for _, v := range versions {
		fmt.Fprintf(&b, "<version>%s</version>", v)
	}
	b.WriteString("</versions><lastUpdated>20260101000000</lastUpdated></versioning></metadata>\n")
	return b.String()
}

// updateArtifactDocForTest removes a version from the artifact document,
// as a crash between a deploy's two updates leaves it.
func updateArtifactDocForTest(e *testEnv, group, artifact, version string) (*core.EntryDoc[artifactHead], core.ObjectInfo, error) {
	return core.UpdateEntryDoc(context.Background(), e.storage, artifactKey(group, artifact),
		func(ed *core.EntryDoc[artifactHead], _ bool) error {
			ed.Delete(version)
			return nil
		})
}
