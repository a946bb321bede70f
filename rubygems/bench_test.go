package rubygems

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/filesystem"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/core/storage/storagetest"
	"github.com/smartregistry/smartregistry/internal/e2etest"
)

// seedIndex pushes 500 versions of "big" and one version of each of 1,000
// other gems, the sizes the issue measures at.
func seedIndex(b *testing.B, e *testEnv) {
	b.Helper()
	ctx := b.Context()
	for i := range 500 {
		e.mustPush(ctx, fixture{name: "big", version: fmt.Sprintf("1.%d.0", i), deps: map[string]string{"dep": ">= 1.0"}})
	}
	for i := range 1000 {
		e.mustPush(ctx, fixture{name: fmt.Sprintf("gem%04d", i), version: "1.0.0"})
	}
}

// BenchmarkCompactIndex measures GET /info/big (500 versions) and GET
// /versions (1,001 gems, 1,500 lines), whole and as bundler's ranged
// update asks for it, through Handle on the memory backend, one goroutine,
// as requests/s; -nocache renders /info from the document every time.
// BenchmarkRegistryCompactIndex measures the same through the Registry
// and over HTTP.
func BenchmarkCompactIndex(b *testing.B) {
	e := newTestEnvOn(b, memory.New(), true, Config{})
	seedIndex(b, e)
	size := len(e.get(b.Context(), "/versions").body)
	for _, tt := range []struct {
		name, path string
		header     http.Header
		nocache    bool
	}{
		{"info-500-versions", "/info/big", nil, false},
		{"info-500-versions-nocache", "/info/big", nil, true},
		{"versions-1000-gems", "/versions", nil, false},
		{"versions-1000-gems-range", "/versions", http.Header{"Range": {fmt.Sprintf("bytes=%d-", size-1)}}, false},
	} {
		b.Run(tt.name, func(b *testing.B) {
			ctx := b.Context()
			if tt.nocache {
				e.h.infos = newInfoCache(-1)
				defer func() { e.h.infos = newInfoCache(defaultCacheEntries) }()
			}
			var n int64
			for b.Loop() {
				req := &core.RequestContext{Method: "GET", Path: tt.path, Header: tt.header.Clone(), Actor: &core.Actor{}}
				if req.Header == nil {
					req.Header = http.Header{}
				}
				resp, err := e.h.Handle(ctx, req)
				if err != nil {
					b.Fatal(err)
				}
				if n, err = io.Copy(io.Discard, resp.Body); err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			b.ReportMetric(float64(n), "body-bytes")
		})
	}
}

// BenchmarkPushGrowth pushes versions 1…500 of one gem in a row, on the
// memory and the filesystem backend, and reports the median push time of
// the first 50 and the last 50, their ratio, and pushes per second over
// the last 50. Run it with -benchtime=1x: one iteration is one whole
// series.
func BenchmarkPushGrowth(b *testing.B) {
	const n = 500
	gems := make([][]byte, n)
	for i := range n {
		gems[i] = fixture{name: "grow", version: fmt.Sprintf("1.%d.0", i)}.gem(b)
	}
	for _, backend := range []string{"memory", "filesystem"} {
		b.Run(backend, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				var be core.Backend = memory.New()
				if backend == "filesystem" {
					fs, err := filesystem.New(b.TempDir())
					if err != nil {
						b.Fatal(err)
					}
					be = fs
				}
				e := newTestEnvOn(b, be, true, Config{})
				b.StartTimer()
				times := make([]time.Duration, n)
				for i, g := range gems {
					start := time.Now()
					if r := e.push(b.Context(), g); r.status != http.StatusOK {
						b.Fatalf("push %d: %d %s", i, r.status, r.body)
					}
					times[i] = time.Since(start)
				}
				start := time.Now()
				if r := e.get(b.Context(), "/info/grow"); r.status != http.StatusOK {
					b.Fatalf("read: %d", r.status)
				}
				e2etest.ReportGrowth(b, times, time.Since(start), "pushes/s")
			}
		})
	}
}

// TestPushRoundTrips counts the storage calls of a push of a new version
// to a gem with one version and to one with 300, and fails if they differ:
// a push's round trips do not grow with the number of versions (nor with
// the length of /versions).
func TestPushRoundTrips(t *testing.T) {
	ctx := t.Context()
	counting := storagetest.NewCounting(memory.New())
	e := newTestEnvOn(t, counting, true, Config{CompactEvery: 1 << 20})
	e.mustPush(ctx, fixture{name: "trips", version: "0.0.1"})
	e.h.sweeper.Wait()
	count := func(version string) map[string]int {
		counting.Calls()
		e.mustPush(ctx, fixture{name: "trips", version: version})
		return counting.Calls()
	}
	first := count("0.0.2")
	for i := range 300 {
		e.mustPush(ctx, fixture{name: "trips", version: fmt.Sprintf("1.0.%d", i)})
	}
	last := count("2.0.0")
	t.Logf("storage calls of a push: at version 2 %v, at version 303 %v", first, last)
	if !maps.Equal(first, last) {
		t.Errorf("a push's storage calls grew: %v, then %v", first, last)
	}
}
