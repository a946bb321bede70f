package npm

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core/storage/filesystem"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/core/storage/storagetest"
	"github.com/smartregistry/smartregistry/internal/e2etest"
)

// fsEnv is a test environment on a fresh filesystem store.
func fsEnv(b *testing.B) *testEnv {
	fs, err := filesystem.New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	return newTestEnv(b, fs)
}

// timedPublishes sends the publish bodies in order, body i to path(i), and
// returns how long each took.
func timedPublishes(b *testing.B, e *testEnv, path func(i int) string, bodies [][]byte) []time.Duration {
	times := make([]time.Duration, len(bodies))
	for i, body := range bodies {
		start := time.Now()
		r := e.do(b.Context(), http.MethodPut, path(i), adminToken, bytes.NewReader(body))
		times[i] = time.Since(start)
		if r.status != http.StatusCreated {
			b.Fatalf("publish %d: %d %s", i, r.status, r.body)
		}
	}
	return times
}

// BenchmarkPublishGrowth publishes versions 1…n of one package in a row,
// one client, on the filesystem backend, and reports the median publish
// time of the first 50 and of the last 50, their ratio, the publishes per
// second over the last 50, and the time of the first read of the
// abbreviated document right after the last publish (same process). Run it
// with -benchtime=1x: one iteration is one whole series.
func BenchmarkPublishGrowth(b *testing.B) {
	for _, n := range []int{500, 5000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			bodies := make([][]byte, n)
			for i := range n {
				bodies[i] = newPublish(b, "grow", fmt.Sprintf("1.0.%d", i)).body()
			}
			for b.Loop() {
				b.StopTimer()
				e := fsEnv(b)
				ctx := b.Context()
				b.StartTimer()
				times := timedPublishes(b, e, func(int) string { return "/grow" }, bodies)
				start := time.Now()
				r := e.do(ctx, http.MethodGet, "/grow", adminToken, nil, "Accept", abbreviatedType)
				firstRead := time.Since(start)
				if r.status != http.StatusOK {
					b.Fatalf("read: %d", r.status)
				}
				e2etest.ReportGrowth(b, times, firstRead, "publishes/s")
			}
		})
	}
}

// BenchmarkPublishIntoLargeRegistry publishes 50 new packages into an empty
// registry and 50 into one whose search index holds 10,000 packages, on the
// filesystem backend, and reports both medians and their ratio. Run it
// with -benchtime=1x.
func BenchmarkPublishIntoLargeRegistry(b *testing.B) {
	const n = 50
	bodies := make([][]byte, n)
	for i := range n {
		bodies[i] = newPublish(b, fmt.Sprintf("new-%02d", i), "1.0.0").body()
	}
	series := func(e *testEnv) float64 {
		return e2etest.MedianMS(timedPublishes(b, e, func(i int) string { return fmt.Sprintf("/new-%02d", i) }, bodies))
	}
	for b.Loop() {
		b.StopTimer()
		empty, large := fsEnv(b), fsEnv(b)
		seedSearchIndex(b.Context(), b, large, 10000)
		b.StartTimer()
		e, l := series(empty), series(large)
		b.ReportMetric(e, "empty-ms")
		b.ReportMetric(l, "10k-ms")
		b.ReportMetric(l/e, "10k/empty")
	}
}

// TestPublishRoundTrips counts the storage calls (round trips to a remote
// store) of one publish of a new version, and of the first read after it,
// and logs them; it fails if a publish takes more than it does now.
func TestPublishRoundTrips(t *testing.T) {
	ctx := t.Context()
	counting := storagetest.NewCounting(memory.New())
	e := newTestEnv(t, counting)
	e.publish(ctx, adminToken, newPublish(t, "trips", "1.0.0"))
	e.h.sweeper.Wait() // the sweep of abandoned uploads the first publish started
	counting.Calls()
	e.publish(ctx, adminToken, newPublish(t, "trips", "1.0.1"))
	calls := counting.Calls()
	total := 0
	for _, n := range calls {
		total += n
	}
	t.Logf("publish of a second version: %d storage calls %v", total, calls)
	if total > 7 {
		t.Errorf("a publish makes %d storage calls %v, want at most 7", total, calls)
	}
	e.do(ctx, http.MethodGet, "/trips", adminToken, nil, "Accept", abbreviatedType)
	t.Logf("first read after it: %v", counting.Calls())
}

// BenchmarkPublishS3 publishes 50 versions of one package, one client, on
// the test MinIO, and reports the median time of a publish. Run it with
// -benchtime=1x.
func BenchmarkPublishS3(b *testing.B) {
	const n = 50
	bodies := make([][]byte, n)
	for i := range n {
		bodies[i] = newPublish(b, "s3grow", fmt.Sprintf("1.0.%d", i)).body()
	}
	for b.Loop() {
		b.StopTimer()
		e := newTestEnv(b, e2etest.S3Backend(b, e2etest.S3Options(b, "smartregistry-npm-test", "bench")))
		b.StartTimer()
		times := timedPublishes(b, e, func(int) string { return "/s3grow" }, bodies)
		b.ReportMetric(e2etest.MedianMS(times), "publish-ms")
	}
}
