package upstream

import (
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/filesystem"
)

// BenchmarkArtifactFirstFetch100MB streams a 100 MB artifact from an
// upstream (a file server on loopback) through Client.Artifact into a
// filesystem cache, verifying its sha512, and compares the rate at which
// the client receives it with reading the same URL directly, alternating
// both. It reports both rates, their ratio (issue 15: at least 0.8), the
// rate counted until the cached copy is in place (synced to disk), and
// the bytes allocated per fetch
// (independent of the artifact's size: the body is never held whole).
//
// Two upstreams: "loopback" serves the file as fast as this machine can,
// "paced-200MBps" at 200 MB/s, the pace of a fast remote registry.
func BenchmarkArtifactFirstFetch100MB(b *testing.B) {
	for _, pace := range []int64{0, 200 << 20} {
		name := "loopback"
		if pace > 0 {
			name = fmt.Sprintf("paced-%dMBps", pace>>20)
		}
		b.Run(name, func(b *testing.B) { benchFirstFetch(b, pace) })
	}
}

// pacedWriter writes at most rate bytes per second.
type pacedWriter struct {
	w     io.Writer
	rate  int64
	start time.Time
	n     int64
}

func (p *pacedWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.n += int64(n)
	if due := p.start.Add(time.Duration(float64(p.n) / float64(p.rate) * float64(time.Second))); time.Until(due) > 0 {
		time.Sleep(time.Until(due))
	}
	return n, err
}

func benchFirstFetch(b *testing.B, pace int64) {
	const size = 100 << 20
	dir := b.TempDir()
	src := filepath.Join(dir, "artifact")
	f, err := os.Create(src)
	if err != nil {
		b.Fatal(err)
	}
	h := sha512.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, size); err != nil {
		b.Fatal(err)
	}
	f.Close()
	digests, _ := ParseIntegrity("sha512-" + base64.StdEncoding.EncodeToString(h.Sum(nil)))
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if pace == 0 {
			http.ServeFile(w, r, src)
			return
		}
		f, err := os.Open(src)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer f.Close()
		w.Header().Set("Content-Length", fmt.Sprint(size))
		_, _ = io.CopyBuffer(&pacedWriter{w: w, rate: pace, start: time.Now()}, f, make([]byte, 256<<10))
	}))
	b.Cleanup(origin.Close)
	be, err := filesystem.New(filepath.Join(dir, "cache"))
	if err != nil {
		b.Fatal(err)
	}
	st := core.NewStorage(be, core.StorageHooks{})
	c := newTestClient(b, st, nil, Policy{}, BreakerSettings{}, core.Upstream{Name: "o", URL: origin.URL})

	var direct, proxied, filled time.Duration
	var allocs uint64
	i := 0
	b.SetBytes(size)
	for b.Loop() {
		start := time.Now()
		resp, err := http.Get(origin.URL + "/artifact")
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.Copy(io.Discard, resp.Body); err != nil || n != size {
			b.Fatal(n, err)
		}
		resp.Body.Close()
		direct += time.Since(start)

		key := fmt.Sprintf("bench/%d", i)
		i++
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start = time.Now()
		a, err := c.Artifact(b.Context(), ArtifactRequest{Name: "pkg", Key: key, Path: "/artifact",
			StagePrefix: "bench-stage/", Digests: digests})
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.Copy(io.Discard, a.Body); err != nil || n != size {
			b.Fatal(n, err)
		}
		a.Body.Close()
		proxied += time.Since(start)
		waitFill(b, c, key)
		filled += time.Since(start)
		runtime.ReadMemStats(&after)
		allocs += after.TotalAlloc - before.TotalAlloc
		if _, err := st.Stat(b.Context(), key); err != nil {
			b.Fatal("not cached:", err)
		}
		_ = st.Delete(b.Context(), key)
	}
	mb := float64(size) / (1 << 20)
	b.ReportMetric(mb*float64(i)/direct.Seconds(), "direct-MB/s")
	b.ReportMetric(mb*float64(i)/proxied.Seconds(), "proxied-MB/s")
	b.ReportMetric(direct.Seconds()/proxied.Seconds(), "proxied/direct-rate")
	b.ReportMetric(mb*float64(i)/filled.Seconds(), "cached-MB/s")
	b.ReportMetric(float64(allocs)/float64(i)/(1<<20), "alloc-MB/fetch")
}
