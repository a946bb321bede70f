package cargo

import (
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/filesystem"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/core/storage/storagetest"
	"github.com/smartregistry/smartregistry/internal/e2etest"
)

// crateSeries builds the publish bodies of versions 1.0.0 … 1.(n-1).0 of
// a crate, each with two dependencies and features, as index lines of
// real crates have.
func crateSeries(b testing.TB, name string, n int) [][]byte {
	bodies := make([][]byte, n)
	for i := range n {
		c := testCrate{name: name, vers: fmt.Sprintf("1.%d.0", i), description: "a crate for benchmarks",
			deps: []PublishDep{
				{Name: "serde", VersionReq: "^1.0", DefaultFeatures: true, Kind: "normal", Features: []string{"derive"}},
				{Name: "helper", VersionReq: "^0.3", Optional: true, DefaultFeatures: true, Kind: "normal", ExplicitNameInToml: strp("h")},
			},
			features: map[string][]string{"default": {"std"}, "std": {}, "extra": {"dep:h"}}}
		bodies[i] = c.body(b)
	}
	return bodies
}

// timedPublishes publishes the bodies in order and returns how long each
// took.
func timedPublishes(b *testing.B, e *testEnv, bodies [][]byte) []time.Duration {
	times := make([]time.Duration, len(bodies))
	for i, body := range bodies {
		start := time.Now()
		r := e.publish(b.Context(), adminToken, body)
		times[i] = time.Since(start)
		if r.status != http.StatusOK {
			b.Fatalf("publish %d: %d %s", i, r.status, r.body)
		}
	}
	return times
}

// BenchmarkPublishGrowth publishes versions 1…500 of one crate in a row,
// one client, on the filesystem backend and on the memory backend (no
// disk: the registry's own cost), and reports the median publish time of
// the first 50 and of the last 50, their ratio, publishes per second over
// the last 50, and the time of the first index read after the series. Run
// it with -benchtime=1x: one iteration is one whole series.
func BenchmarkPublishGrowth(b *testing.B) {
	const n = 500
	bodies := crateSeries(b, "grow", n)
	for _, backend := range []string{"filesystem", "memory"} {
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
				e := newTestEnvOn(b, be, false, noHooks)
				b.StartTimer()
				times := timedPublishes(b, e, bodies)
				start := time.Now()
				r := e.get(b.Context(), "/gr/ow/grow")
				firstRead := time.Since(start)
				if r.status != http.StatusOK {
					b.Fatalf("read: %d", r.status)
				}
				e2etest.ReportGrowth(b, times, firstRead, "publishes/s")
			}
		})
	}
}

// BenchmarkIndexFile measures GET of the index file of a crate with 500
// versions through Handle on the memory backend, with the cache (the
// default: a stat and the cached bytes) and without it (every request
// reads the document and concatenates its lines), as requests/s on one
// goroutine. BenchmarkIndexFileHTTP (cargo_test) measures it over
// loopback HTTP.
func BenchmarkIndexFile(b *testing.B) {
	bodies := crateSeries(b, "big", 500)
	for _, cached := range []bool{true, false} {
		e := newTestEnv(b, false)
		if !cached {
			e.h.cache = newIndexCache(-1)
		}
		for _, body := range bodies {
			if r := e.publish(b.Context(), adminToken, body); r.status != http.StatusOK {
				b.Fatalf("publish: %d %s", r.status, r.body)
			}
		}
		name := "cached"
		if !cached {
			name = "nocache"
		}
		b.Run(name, func(b *testing.B) {
			ctx := b.Context()
			var size int64
			for b.Loop() {
				req := &core.RequestContext{Method: http.MethodGet, Path: "/3/b/big", Header: http.Header{"Authorization": {adminToken}},
					Actor: &core.Actor{}, BaseURL: testBaseURL}
				resp, err := e.h.Handle(ctx, req)
				if err != nil || resp.Status != http.StatusOK {
					b.Fatalf("%v", err)
				}
				if size, err = io.Copy(io.Discard, resp.Body); err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			b.ReportMetric(float64(size), "file-bytes")
		})
	}
}

// TestPublishRoundTrips counts the storage calls (round trips to a remote
// store) of one publish of a new version of an existing crate, and fails
// if it takes more than it does now; the first index read after it costs
// one stat.
func TestPublishRoundTrips(t *testing.T) {
	ctx := t.Context()
	counting := storagetest.NewCounting(memory.New())
	e := newTestEnvOn(t, counting, false, noHooks)
	e.mustPublish(ctx, testCrate{name: "trips", vers: "1.0.0"})
	e.h.sweeper.Wait()
	counting.Calls()
	e.mustPublish(ctx, testCrate{name: "trips", vers: "1.1.0"})
	calls := counting.Calls()
	total := 0
	for _, n := range calls {
		total += n
	}
	t.Logf("publish of a version of an existing crate: %d storage calls %v", total, calls)
	if total > 10 {
		t.Errorf("a publish makes %d storage calls %v, want at most 10", total, calls)
	}
	if r := e.get(ctx, "/tr/ip/trips"); r.status != http.StatusOK {
		t.Fatalf("index: %d", r.status)
	}
	if calls := counting.Calls(); calls["stat"] != 1 || len(calls) != 1 {
		t.Errorf("the first read after a publish made the storage calls %v, want one stat", calls)
	}
}

// BenchmarkPublishS3 publishes 50 versions of one crate, one client, on
// the test MinIO, and reports the median publish time. Run it with
// -benchtime=1x.
func BenchmarkPublishS3(b *testing.B) {
	const n = 50
	bodies := crateSeries(b, "s3grow", n)
	for b.Loop() {
		b.StopTimer()
		e := newTestEnvOn(b, e2etest.S3Backend(b, e2etest.S3Options(b, "smartregistry-cargo-test", "bench")), false, noHooks)
		b.StartTimer()
		times := timedPublishes(b, e, bodies)
		b.ReportMetric(e2etest.MedianMS(times), "publish-ms")
	}
}
