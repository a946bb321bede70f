package npm

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/internal/e2etest"
)

// TestConcurrentPublishesLoseNothing publishes 20 versions of one package
// at once through two handlers sharing one storage backend, as two
// registry processes on one bucket would: every version must land, with
// its tarball and its tag. The same runs against two example servers on
// one MinIO bucket in TestE2EConcurrentPublishesS3.
func TestConcurrentPublishesLoseNothing(t *testing.T) {
	backend := memory.New()
	e1, e2 := newTestEnv(t, backend), newTestEnv(t, backend)
	concurrentPublishes(t, []client{e1, e2}, adminToken)
	assertNoUploads(t.Context(), t, e1)
}

// client sends a request to a registry: a Handler, or a server over HTTP.
type client interface {
	do(ctx context.Context, method, target, token string, body io.Reader, header ...string) result
}

// concurrentPublishes publishes 20 versions of one package at once, spread
// over the clients, and checks through each that all landed.
func concurrentPublishes(t *testing.T, envs []client, token string) {
	ctx := t.Context()
	const n = 20
	name := "@team/race-" + uuid.NewString()[:8]
	bodies := make([][]byte, n)
	for i := range n {
		p := newPublish(t, name, fmt.Sprintf("1.0.%d", i))
		p.tag = fmt.Sprintf("t%d", i) // as npm 11 needs for versions below latest
		bodies[i] = p.body()
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			r := envs[i%2].do(ctx, http.MethodPut, "/"+escapedName(name), token, bytes.NewReader(bodies[i]))
			if r.status != http.StatusCreated {
				errs <- fmt.Errorf("publish 1.0.%d: %d %s", i, r.status, r.body)
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, e := range envs {
		r := e.do(ctx, http.MethodGet, "/"+escapedName(name)+"?write=true", token, nil)
		var doc map[string]any
		r.json(t, &doc)
		versions := doc["versions"].(map[string]any)
		tags := doc["dist-tags"].(map[string]any)
		if len(versions) != n {
			t.Errorf("%d versions listed, want %d", len(versions), n)
		}
		for i := range n {
			v := fmt.Sprintf("1.0.%d", i)
			if _, ok := versions[v]; !ok {
				t.Errorf("version %s lost", v)
			}
			if tags[fmt.Sprintf("t%d", i)] != v {
				t.Errorf("tag t%d = %v", i, tags[fmt.Sprintf("t%d", i)])
			}
			r := e.do(ctx, http.MethodGet, "/"+name+"/-/"+tarballFile(name, v), token, nil)
			if r.status != http.StatusOK || len(r.body) == 0 {
				t.Errorf("tarball of %s: %d", v, r.status)
			}
		}
	}
}

// assertNoUploads checks that no temporary upload is left behind.
func assertNoUploads(ctx context.Context, t *testing.T, e *testEnv) {
	t.Helper()
	for _, k := range e.keys(ctx) {
		if strings.HasPrefix(k, rootPrefix+"uploads/") {
			t.Errorf("upload left behind: %s", k)
		}
	}
}

// TestConcurrentPackagesFoundBySearch publishes 20 different packages at
// once through two handlers, each with its own client on one MinIO
// bucket, as two registry processes would: all land, and a search through
// either handler finds every one (the search index is sharded, so these
// publishes write different shards or retry on the shared ones).
func TestConcurrentPackagesFoundBySearch(t *testing.T) {
	opts := e2etest.S3Options(t, "smartregistry-npm-test", "search")
	e1, e2 := newTestEnv(t, e2etest.S3Backend(t, opts)), newTestEnv(t, e2etest.S3Backend(t, opts))
	ctx := t.Context()
	const n = 20
	prefix := "found-" + uuid.NewString()[:8]
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		body := newPublish(t, fmt.Sprintf("%s-%02d", prefix, i), "1.0.0").body()
		wg.Go(func() {
			statuses[i] = []*testEnv{e1, e2}[i%2].do(ctx, http.MethodPut, fmt.Sprintf("/%s-%02d", prefix, i), adminToken, bytes.NewReader(body)).status
		})
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusCreated {
			t.Errorf("publish %d: %d", i, s)
		}
	}
	for _, e := range []*testEnv{e1, e2} {
		r := e.do(ctx, http.MethodGet, "/-/v1/search?size=100&text="+prefix, adminToken, nil)
		var res struct {
			Total int `json:"total"`
		}
		r.json(t, &res)
		if res.Total != n {
			t.Errorf("search finds %d of the %d packages: %.300s", res.Total, n, r.body)
		}
	}
}
