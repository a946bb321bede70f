package oci

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/filesystem"
)

// TestLargeChunkedUploadKeepsHeapFlat pushes a large blob in PATCH chunks
// and pulls it back, while a goroutine samples the Go heap: it must stay
// under 64 MiB, because chunks go to storage as they arrive and blobs are
// streamed out of it. On the filesystem: 1 GiB in 10 MiB chunks of known
// length. On S3: 96 MiB in two chunks of unknown length (sent chunked, as
// docker does), which the S3 backend uploads in parts.
func TestLargeChunkedUploadKeepsHeapFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("moves up to 2 GiB through the registry; skipped with -short")
	}
	tests := []struct {
		name         string
		open         func(t *testing.T) core.Backend
		total, chunk int64
		knownLength  bool
	}{
		{"filesystem", func(t *testing.T) core.Backend {
			fs, err := filesystem.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return fs
		}, 1 << 30, 10 << 20, true},
		{"s3", func(t *testing.T) core.Backend { return s3Backend(t, s3Options(t)) }, 96 << 20, 48 << 20, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bigUpload(t, newTestServer(t, tt.open(t), Config{}), tt.total, tt.chunk, tt.knownLength)
		})
	}
}

func bigUpload(t *testing.T, ts *testServer, total, chunk int64, knownLength bool) {
	const heapLimit = 64 << 20

	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	defer func() {
		close(stop)
		wg.Wait()
		t.Logf("peak Go heap %.1f MiB", float64(peak)/(1<<20))
		if peak >= heapLimit {
			t.Errorf("peak Go heap %d bytes, want under %d", peak, heapLimit)
		}
	}()

	do := func(method, url string, body io.Reader, size int64, header ...string) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, url, body)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = size
		req.Header = admin(header...)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := do("POST", ts.URL+"/v2/big/blobs/uploads/", http.NoBody, 0)
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusAccepted || loc == "" {
		t.Fatalf("POST: %s", resp.Status)
	}
	src := rand.NewChaCha8([32]byte{1})
	sum := sha256.New()
	for off := int64(0); off < total; off += chunk {
		size := min(chunk, total-off)
		body := io.TeeReader(io.LimitReader(src, size), sum)
		var resp *http.Response
		if knownLength {
			resp = do("PATCH", loc, body, size, "Content-Range", fmt.Sprintf("%d-%d", off, off+size-1))
		} else {
			resp = do("PATCH", loc, body, -1)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("PATCH at %d: %s", off, resp.Status)
		}
		loc = resp.Header.Get("Location")
	}
	dg := "sha256:" + hex.EncodeToString(sum.Sum(nil))
	resp = do("PUT", loc+"?digest="+dg, http.NoBody, 0)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: %s", resp.Status)
	}

	resp = do("GET", ts.URL+"/v2/big/blobs/"+dg, http.NoBody, 0)
	defer resp.Body.Close()
	back := sha256.New()
	n, err := io.Copy(back, resp.Body)
	if err != nil || n != total || "sha256:"+hex.EncodeToString(back.Sum(nil)) != dg {
		t.Fatalf("pulled %d bytes (%v), digest mismatch or short", n, err)
	}
}
