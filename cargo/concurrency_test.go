package cargo

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/internal/e2etest"
)

// TestConcurrentPublishes publishes 20 versions of one crate at once
// through two handlers sharing one store, as two registry processes would:
// on one memory backend, and on one MinIO bucket through two S3 clients.
// Every version must land with a valid index line and its crate file, and
// the search index must show the highest.
func TestConcurrentPublishes(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T) (core.Backend, core.Backend)
	}{
		{"memory", func(*testing.T) (core.Backend, core.Backend) { b := memory.New(); return b, b }},
		{"s3", func(t *testing.T) (core.Backend, core.Backend) {
			opts := e2etest.S3Options(t, "smartregistry-cargo-test", "race")
			return e2etest.S3Backend(t, opts), e2etest.S3Backend(t, opts)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			b1, b2 := tc.open(t)
			envs := []*testEnv{newTestEnvOn(t, b1, false, core.StorageHooks{}), newTestEnvOn(t, b2, false, core.StorageHooks{})}
			const n = 20
			crates := make([]testCrate, n)
			bodies := make([][]byte, n)
			for i := range n {
				crates[i] = testCrate{name: "race", vers: fmt.Sprintf("1.0.%d", i)}
				bodies[i] = crates[i].body(t)
			}
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					if r := envs[i%2].publish(ctx, adminToken, bodies[i]); r.status != http.StatusOK {
						t.Errorf("publish 1.0.%d: %d %s", i, r.status, r.body)
					}
				})
			}
			close(start)
			wg.Wait()
			for _, e := range envs {
				lines := e.indexLines(ctx, "race")
				seen := map[string]bool{}
				for _, l := range lines {
					seen[l.Vers] = true
				}
				if len(lines) != n || len(seen) != n {
					t.Errorf("%d index lines, %d versions", len(lines), len(seen))
				}
				for i, c := range crates {
					if r := e.get(ctx, "/api/v1/crates/race/"+c.vers+"/download"); r.status != 200 || r.body != string(bodies[i][len(bodies[i])-len(r.body):]) {
						t.Errorf("download %s: %d", c.vers, r.status)
					}
				}
				r := e.get(ctx, "/api/v1/crates?q=race")
				var body struct {
					Crates []struct {
						MaxVersion string `json:"max_version"`
					} `json:"crates"`
				}
				if json.Unmarshal([]byte(r.body), &body) != nil || len(body.Crates) != 1 || body.Crates[0].MaxVersion != "1.0.19" {
					t.Errorf("search: %s", r.body)
				}
				for _, k := range e.keys(ctx) {
					if strings.HasPrefix(k, uploadsPrefix) {
						t.Errorf("upload left behind: %s", k)
					}
				}
			}
		})
	}
}
