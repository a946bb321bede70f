package rubygems

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/internal/e2etest"
)

// TestConcurrentPushes pushes 20 versions of one gem and one version each
// of 10 other gems at once through two handlers sharing one backend, as
// two registry processes on one bucket would (memory, filesystem, MinIO),
// with compactions of /versions every 4 records happening meanwhile. Every
// version must land; /versions must list each once, in the same bytes
// through both handlers and through a third that starts afresh.
func TestConcurrentPushes(t *testing.T) {
	backends := append([]e2etest.NamedBackend{{Name: "memory", Open: func(*testing.T) core.Backend { return memory.New() }}},
		e2etest.FilesystemAndS3("smartregistry-rubygems-test")...)
	for _, be := range backends {
		t.Run(be.Name, func(t *testing.T) {
			ctx := t.Context()
			backend := be.Open(t)
			cfg := Config{CompactEvery: 4}
			envs := []*testEnv{newTestEnvOn(t, backend, false, cfg), newTestEnvOn(t, backend, false, cfg)}
			var gems []fixture
			for i := range 20 {
				gems = append(gems, fixture{name: "race", version: fmt.Sprintf("1.0.%d", i)})
			}
			for i := range 10 {
				gems = append(gems, fixture{name: fmt.Sprintf("other%d", i), version: "1.0.0"})
			}
			bodies := make([][]byte, len(gems))
			for i, g := range gems {
				bodies[i] = g.gem(t)
			}
			var wg sync.WaitGroup
			start := make(chan struct{})
			errs := make(chan string, len(gems))
			for i := range gems {
				wg.Go(func() {
					<-start
					if r := envs[i%2].push(ctx, bodies[i]); r.status != 200 {
						errs <- fmt.Sprintf("push %s: %d %s", gems[i].fullName(), r.status, r.body)
					}
				})
			}
			close(start)
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Error(e)
			}
			fresh := newTestEnvOn(t, backend, false, cfg)
			var bodiesSeen []string
			for i, e := range append(envs, fresh) {
				body := e.get(ctx, "/versions").body
				bodiesSeen = append(bodiesSeen, body)
				if i > 0 && body != bodiesSeen[0] {
					t.Errorf("handler %d reads other /versions bytes:\n%s\nthan handler 0:\n%s", i, body, bodiesSeen[0])
				}
			}
			listed := map[string]int{}
			_, lines, _ := strings.Cut(bodiesSeen[0], "\n---\n")
			for line := range strings.SplitSeq(strings.TrimSuffix(lines, "\n"), "\n") {
				f := strings.Fields(line)
				if len(f) != 3 {
					t.Fatalf("malformed line %q", line)
				}
				for v := range strings.SplitSeq(f[1], ",") {
					listed[f[0]+" "+v]++
				}
			}
			for _, g := range gems {
				if n := listed[g.name+" "+g.version]; n != 1 {
					t.Errorf("%s listed %d times", g.fullName(), n)
				}
			}
			if len(listed) != len(gems) {
				t.Errorf("/versions lists %d versions, want %d", len(listed), len(gems))
			}
			// The last line of each gem carries its info file's MD5.
			if info := fresh.get(ctx, "/info/race"); strings.Count(info.body, "\n") != 21 {
				t.Errorf("/info/race:\n%s", info.body)
			}
			var keys []string
			for _, k := range fresh.keys(ctx) {
				if strings.HasPrefix(k, uploadsPrefix) {
					t.Errorf("upload left behind: %s", k)
				}
				if strings.HasPrefix(k, logPrefix) {
					keys = append(keys, k)
				}
			}
			if len(keys) > 2*4+1 {
				t.Errorf("compaction left %d log records", len(keys))
			}
			slices.Sort(keys)
		})
	}
}
