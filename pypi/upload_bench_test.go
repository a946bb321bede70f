package pypi

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core/storage/filesystem"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/core/storage/storagetest"
	"github.com/smartregistry/smartregistry/internal/e2etest"
)

// seriesUpload is one upload of a benchmark series.
type seriesUpload struct {
	d       dist
	content []byte
}

// wheelSeries builds the wheels of versions 1.0 … 1.(n-1) of a project.
func wheelSeries(b testing.TB, name string, n int) []seriesUpload {
	ups := make([]seriesUpload, n)
	for i := range n {
		d := dist{name: name, version: fmt.Sprintf("1.%d", i)}
		ups[i] = seriesUpload{d, d.wheel(b)}
	}
	return ups
}

// timedUploads uploads the series in order and returns how long each took.
func timedUploads(b *testing.B, e *testEnv, ups []seriesUpload) []time.Duration {
	times := make([]time.Duration, len(ups))
	for i, u := range ups {
		start := time.Now()
		r := e.upload(b.Context(), u.d, u.d.wheelName(), u.content, nil)
		times[i] = time.Since(start)
		if r.status != http.StatusOK {
			b.Fatalf("upload %d: %d %s", i, r.status, r.body)
		}
	}
	return times
}

// BenchmarkUploadGrowth uploads files 1…n of one project in a row (a
// wheel per version), one client, on the filesystem backend, and reports
// the median upload time of the first 50 and of the last 50, their ratio,
// and uploads per second over the last 50. Run it with -benchtime=1x: one
// iteration is one whole series.
func BenchmarkUploadGrowth(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ups := wheelSeries(b, "grow", n)
			for b.Loop() {
				b.StopTimer()
				fs, err := filesystem.New(b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				e := newTestEnvOn(b, fs, true)
				b.StartTimer()
				times := timedUploads(b, e, ups)
				e.h.renders.Wait()
				start := time.Now()
				r := e.do(b.Context(), request{method: "GET", path: "/simple/grow/"})
				firstRead := time.Since(start)
				if r.status != http.StatusOK {
					b.Fatalf("read: %d", r.status)
				}
				e2etest.ReportGrowth(b, times, firstRead, "uploads/s")
			}
		})
	}
}

// TestUploadRoundTrips counts the storage calls (round trips to a remote
// store) of one upload of a new file to an existing project, and fails if
// it takes more than it does now.
func TestUploadRoundTrips(t *testing.T) {
	ctx := t.Context()
	counting := storagetest.NewCounting(memory.New())
	e := newTestEnvOn(t, counting, true)
	d := dist{name: "trips", version: "1.0"}
	e.mustUpload(ctx, d)
	e.h.sweeper.Wait() // the sweep of abandoned uploads the first upload started
	e.h.renders.Wait()
	counting.Calls()
	d = dist{name: "trips", version: "1.1"}
	if r := e.upload(ctx, d, d.wheelName(), d.wheel(t), nil); r.status != http.StatusOK {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	calls := counting.Calls()
	total := 0
	for _, n := range calls {
		total += n
	}
	t.Logf("upload of a wheel to an existing project: %d storage calls %v", total, calls)
	if total > 8 {
		t.Errorf("an upload makes %d storage calls %v, want at most 8", total, calls)
	}
	// The page was rendered after the upload: the first read costs a stat.
	e.h.renders.Wait()
	if r := e.do(ctx, request{method: "GET", path: "/simple/trips/"}); r.status != http.StatusOK {
		t.Fatalf("page: %d", r.status)
	}
	if calls := counting.Calls(); calls["stat"] != 1 || len(calls) != 1 {
		t.Errorf("the first read after an upload made the storage calls %v, want one stat", calls)
	}
}

// BenchmarkUploadS3 uploads 50 wheels of one project, one client, on the
// test MinIO, and reports the median time of an upload. Run it with
// -benchtime=1x.
func BenchmarkUploadS3(b *testing.B) {
	const n = 50
	ups := wheelSeries(b, "s3grow", n)
	for b.Loop() {
		b.StopTimer()
		e := newTestEnvOn(b, e2etest.S3Backend(b, e2etest.S3Options(b, "smartregistry-pypi-test", "bench")), true)
		b.StartTimer()
		times := timedUploads(b, e, ups)
		b.ReportMetric(e2etest.MedianMS(times), "upload-ms")
	}
}
