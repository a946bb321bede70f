package cargo

import (
	"bytes"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/internal/handlertest"
)

// TestProxyCrashStates: lost answers to the cache writes (the stored index
// file and config.json, the crate's move into place) never fail a
// download nor leave a half-written cache entry; and what a crash leaves
// in the middle of a fill (a staged crate) is swept like an abandoned
// publish.
func TestProxyCrashStates(t *testing.T) {
	ctx := t.Context()
	c := testCrate{name: "crashy", vers: "1.0.0"}
	_, _, up := originWith(t, c)
	backend, lose := handlertest.LosingBackend(upstreamPrefix)
	e := newProxyEnvOn(t, backend, noHooks, Config{}, up)
	for range 2 { // answers lost, then not
		if lines := e.indexLines(ctx, "crashy"); len(lines) != 1 {
			t.Fatalf("index: %+v", lines)
		}
		for range 2 {
			if r := e.get(ctx, "/api/v1/crates/crashy/1.0.0/download"); r.status != http.StatusOK || r.body != string(c.crateFile(t)) {
				t.Fatalf("download: %d, %d bytes", r.status, len(r.body))
			}
		}
		lose.Store(false)
	}
	got := handlertest.ReadAll(t, e.storage, upstreamFileKey("crashy", "1.0.0"))
	if !bytes.Equal(got, c.crateFile(t)) {
		t.Fatal("the cached crate differs")
	}

	handlertest.SweepsStaged(t, e.storage, uploadKey(time.Now().Add(-2*time.Hour)), uploadsPrefix, e.h.CleanUploads)
}

// Storage hooks see the cache fills with their kinds and crate; a hook
// that refuses the fill (a quota) leaves the download working, uncached.
func TestProxyCacheFillsGoThroughHooks(t *testing.T) {
	ctx := t.Context()
	c := testCrate{name: "hooked", vers: "1.0.0"}
	_, _, up := originWith(t, c)
	fills := handlertest.NewFillHooks()
	e := newProxyEnvOn(t, memory.New(), fills.Hooks(), Config{}, up)
	fills.RefusedThenAllowed(t, e.storage, upstreamFileKey("hooked", "1.0.0"), func() {
		for range 2 {
			if r := e.get(ctx, "/api/v1/crates/hooked/1.0.0/download"); r.status != http.StatusOK || r.body != string(c.crateFile(t)) {
				t.Fatalf("download: %d, %d bytes", r.status, len(r.body))
			}
		}
	})
	fills.MustHaveSeen(t, "metadata hooked ", "artifact hooked 1.0.0")
}

// Two replicas on one storage, 20 concurrent downloads of one proxied
// crate: all get the right bytes, and the crate is cached once, whole.
func TestProxyConcurrentMisses(t *testing.T) {
	ctx := t.Context()
	c := testCrate{name: "popular", vers: "1.0.0", payload: 50_000}
	_, _, up := originWith(t, c)
	backend := memory.New()
	replicas := []*testEnv{newProxyEnvOn(t, backend, noHooks, Config{}, up), newProxyEnvOn(t, backend, noHooks, Config{}, up)}
	want := c.crateFile(t)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			status, body, err := replicas[i%2].tryDownload(ctx, "/api/v1/crates/popular/1.0.0/download")
			if err != nil || status != http.StatusOK || !bytes.Equal(body, want) {
				errs <- fmt.Errorf("download %d: %d, %d bytes, %v", i, status, len(body), err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if r := replicas[0].get(ctx, "/api/v1/crates/popular/1.0.0/download"); r.status != http.StatusOK || r.body != string(want) {
		t.Fatalf("cached download: %d, %d bytes", r.status, len(r.body))
	}
}
