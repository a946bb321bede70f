package composer

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/filesystem"
	"github.com/smartregistry/smartregistry/core/storage/storagetest"
	"github.com/smartregistry/smartregistry/internal/e2etest"
)

// seedVersions writes a package document with n versions directly, as n
// uploads would have left it.
func seedVersions(b testing.TB, e *testEnv, name string, n int) {
	b.Helper()
	m, err := ParseManifest(pkg{name: name, require: map[string]string{"php": ">=8.1", "psr/log": "^3.0"}}.composerJSON())
	if err != nil {
		b.Fatal(err)
	}
	_, _, err = core.UpdateEntryDoc(b.Context(), e.storage, packageKey(name), func(ed *core.EntryDoc[packageHead], _ bool) error {
		ed.Head.Name = name
		for i := range n {
			rec := versionRecord{Version: fmt.Sprintf("1.%d.0", i), Object: fmt.Sprintf("obj-%d", i),
				SHA1: fmt.Sprintf("%040x", i), Size: 12345, Time: time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC), Fields: m.Fields}
			data, err := json.Marshal(rec)
			if err != nil {
				return err
			}
			if err := ed.Set(fmt.Sprintf("1.%d.0.0", i), data); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkP2 measures GET /p2/<vendor>/<package>.json of a package with
// 500 versions, through Handle on the memory backend, with the cache (the
// default: a stat per request) and without it (every request reads,
// decodes and renders the document). Reported as requests/s on one
// goroutine.
func BenchmarkP2(b *testing.B) {
	for _, cached := range []bool{true, false} {
		cfg := Config{}
		name := "cached"
		if !cached {
			cfg.CacheEntries, name = -1, "nocache"
		}
		e := newTestEnvOn(b, newMemory(), noHooks, cfg)
		seedVersions(b, e, "acme/big", 500)
		b.Run(name, func(b *testing.B) {
			ctx := b.Context()
			var size int64
			auth := http.Header{"Authorization": {"Bearer " + adminToken}}
			for b.Loop() {
				req := &core.RequestContext{Method: "GET", Path: "/p2/acme/big.json", Header: auth, Query: url.Values{},
					Actor: &core.Actor{}, BaseURL: testBaseURL}
				resp, err := e.h.Handle(ctx, req)
				if err != nil {
					b.Fatal(err)
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

// BenchmarkP2HTTP is BenchmarkP2 (cached) over loopback HTTP with
// parallel clients, so the figure includes the HTTP stack.
func BenchmarkP2HTTP(b *testing.B) {
	e := newTestEnv(b)
	seedVersions(b, e, "acme/big", 500)
	srv := e.serve()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequestWithContext(b.Context(), http.MethodGet, srv.URL+"/p2/acme/big.json", nil)
			req.Header.Set("Authorization", "Bearer "+adminToken)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// zipSeries builds the zips of versions 1.0.0 … 1.(n-1).0 of a package.
func zipSeries(b testing.TB, name string, n int) [][]byte {
	zips := make([][]byte, n)
	for i := range n {
		zips[i] = pkg{name: name, version: fmt.Sprintf("1.%d.0", i), require: map[string]string{"php": ">=8.1"}}.zip(b)
	}
	return zips
}

// timedUploads uploads the zips in order and returns how long each took.
func timedUploads(b *testing.B, e *testEnv, name string, zips [][]byte) []time.Duration {
	times := make([]time.Duration, len(zips))
	for i, z := range zips {
		start := time.Now()
		r := e.upload(b.Context(), name, "", z)
		times[i] = time.Since(start)
		if r.status != http.StatusCreated {
			b.Fatalf("upload %d: %d %s", i, r.status, r.body)
		}
	}
	return times
}

// BenchmarkUploadGrowth uploads versions 1…500 of one package in a row,
// one client, on the filesystem backend (every write fsynced) and on the
// memory backend (what the handler and the document cost, without the
// disk), and reports the median upload time of the first 50 and of the
// last 50, their ratio, uploads per second over the last 50, and the time
// of the first /p2/ read after the series. Run it with -benchtime=1x: one
// iteration is one whole series.
func BenchmarkUploadGrowth(b *testing.B) {
	const n = 500
	zips := zipSeries(b, "acme/grow", n)
	for _, store := range []string{"filesystem", "memory"} {
		b.Run(store, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				backend := newMemory()
				if store == "filesystem" {
					fs, err := filesystem.New(b.TempDir())
					if err != nil {
						b.Fatal(err)
					}
					backend = fs
				}
				e := newTestEnvOn(b, backend, noHooks, Config{})
				b.StartTimer()
				times := timedUploads(b, e, "acme/grow", zips)
				e.h.renders.Wait()
				start := time.Now()
				r := e.do(b.Context(), request{method: "GET", path: "/p2/acme/grow.json", token: adminToken})
				firstRead := time.Since(start)
				if r.status != http.StatusOK || !strings.Contains(r.body, `"1.499.0"`) {
					b.Fatalf("read: %d", r.status)
				}
				e2etest.ReportGrowth(b, times, firstRead, "uploads/s")
			}
		})
	}
}

// BenchmarkUploadS3 uploads 50 versions of one package, one client, on the
// test MinIO, and reports the median time of an upload. Run it with
// -benchtime=1x.
func BenchmarkUploadS3(b *testing.B) {
	const n = 50
	zips := zipSeries(b, "acme/s3grow", n)
	for b.Loop() {
		b.StopTimer()
		e := newTestEnvOn(b, e2etest.S3Backend(b, e2etest.S3Options(b, "smartregistry-composer-test", "bench")), noHooks, Config{})
		b.StartTimer()
		times := timedUploads(b, e, "acme/s3grow", zips)
		b.ReportMetric(e2etest.MedianMS(times), "upload-ms")
	}
}

// TestUploadRoundTrips counts the storage calls (round trips to a remote
// store) of one upload of a new version to an existing package, and of the
// first read after it, and fails if they take more than they do now.
func TestUploadRoundTrips(t *testing.T) {
	ctx := t.Context()
	counting := storagetest.NewCounting(newMemory())
	e := newTestEnvOn(t, counting, noHooks, Config{})
	e.mustUpload(ctx, pkg{name: "acme/trips", version: "1.0.0"}, "")
	e.h.sweeper.Wait() // the sweep of abandoned uploads the first upload started
	e.h.renders.Wait()
	counting.Calls()
	e.mustUpload(ctx, pkg{name: "acme/trips", version: "1.1.0"}, "")
	calls := counting.Calls()
	total := 0
	for _, n := range calls {
		total += n
	}
	t.Logf("upload of a version to an existing package: %d storage calls %v", total, calls)
	if total > 10 {
		t.Errorf("an upload makes %d storage calls %v, want at most 10", total, calls)
	}
	e.h.renders.Wait()
	if r := e.do(ctx, request{method: "GET", path: "/p2/acme/trips.json", token: adminToken}); r.status != http.StatusOK {
		t.Fatalf("read: %d", r.status)
	}
	if calls := counting.Calls(); calls["stat"] != 1 || len(calls) != 1 {
		t.Errorf("the first read after an upload made the storage calls %v, want one stat", calls)
	}
}

// BenchmarkFirstReadAfterUpload times the /p2/ read that comes right after
// an upload to a package of 500 versions, before the background rendering
// (the client reads at once): the document is read again and rendered from
// the cached rendering of the version before, decoding only the new line.
// On the memory backend; the uploads are not timed.
func BenchmarkFirstReadAfterUpload(b *testing.B) {
	e := newTestEnv(b)
	ctx := b.Context()
	seedVersions(b, e, "acme/big", 500)
	read := func() {
		if r := e.do(ctx, request{method: "GET", path: "/p2/acme/big.json", token: adminToken}); r.status != http.StatusOK {
			b.Fatalf("read: %d %s", r.status, r.body)
		}
	}
	read() // the cached rendering uploads start from
	i := 0
	for b.Loop() {
		b.StopTimer()
		p := pkg{name: "acme/big", version: fmt.Sprintf("2.%d.0", i)}
		i++
		if r := e.upload(ctx, p.name, "", p.zip(b)); r.status != http.StatusCreated {
			b.Fatalf("upload: %d %s", r.status, r.body)
		}
		b.StartTimer()
		read()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "read-ms")
}
