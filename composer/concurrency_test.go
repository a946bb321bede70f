package composer

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/e2etest"
)

// TestConcurrentUploadsLoseNothing uploads 20 versions of one package at
// once through two handlers sharing one storage, as two registry processes
// on one bucket would: in memory, and on one MinIO bucket through two
// clients. Every version must land, with its zip, seen through either
// handler.
func TestConcurrentUploadsLoseNothing(t *testing.T) {
	stores := []struct {
		name string
		open func(t *testing.T) (core.Backend, core.Backend)
	}{
		{"memory", func(t *testing.T) (core.Backend, core.Backend) { b := newMemory(); return b, b }},
		{"s3", func(t *testing.T) (core.Backend, core.Backend) {
			opts := e2etest.S3Options(t, "smartregistry-composer-test", "race")
			return e2etest.S3Backend(t, opts), e2etest.S3Backend(t, opts)
		}},
	}
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			b1, b2 := s.open(t)
			envs := []*testEnv{newTestEnvOn(t, b1, noHooks, Config{}), newTestEnvOn(t, b2, noHooks, Config{})}
			ctx := t.Context()
			const n = 20
			name := "race/p" + uuid.NewString()[:8]
			zips := make([][]byte, n)
			for i := range n {
				zips[i] = pkg{name: name, version: fmt.Sprintf("1.0.%d", i)}.zip(t)
			}
			var wg sync.WaitGroup
			statuses := make([]response, n)
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					statuses[i] = envs[i%2].upload(ctx, name, "", zips[i])
				})
			}
			close(start)
			wg.Wait()
			for i, r := range statuses {
				if r.status != http.StatusCreated {
					t.Errorf("upload 1.0.%d: %d %s", i, r.status, r.body)
				}
			}
			for _, e := range envs {
				vs := e.versions(ctx, name+".json")
				if len(vs) != n {
					t.Errorf("%d versions listed, want %d", len(vs), n)
				}
				for _, v := range vs {
					var d dist
					if err := json.Unmarshal(v["dist"], &d); err != nil {
						t.Fatal(err)
					}
					path := d.URL[len(testBaseURL):]
					if r := e.do(ctx, request{method: "GET", path: path, token: adminToken}); r.status != 200 {
						t.Errorf("zip of %s: %d", v["version"], r.status)
					}
				}
			}
		})
	}
}
