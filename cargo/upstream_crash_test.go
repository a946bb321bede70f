package cargo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/core/storage/storagetest"
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
	var lose atomic.Bool
	lose.Store(true)
	backend := &storagetest.LostAnswers{Backend: memory.New(), Lose: func(key string) bool {
		return lose.Load() && strings.HasPrefix(key, upstreamPrefix)
	}}
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
	rc, _, err := e.storage.Get(ctx, upstreamFileKey("crashy", "1.0.0"), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, c.crateFile(t)) {
		t.Fatal("the cached crate differs")
	}

	// A fill interrupted by a crash leaves a staged object only.
	staged := uploadKey(time.Now().Add(-2 * time.Hour))
	if _, err := e.storage.Put(ctx, staged, bytes.NewReader(got[:10]), 10, core.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if n, err := e.h.CleanUploads(ctx, time.Now().Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	_ = e.storage.Walk(ctx, uploadsPrefix, func(o core.ObjectInfo) error {
		t.Errorf("left in the uploads area: %s", o.Key)
		return nil
	})
}

// Storage hooks see the cache fills with their kinds and crate; a hook
// that refuses the fill (a quota) leaves the download working, uncached.
func TestProxyCacheFillsGoThroughHooks(t *testing.T) {
	ctx := t.Context()
	c := testCrate{name: "hooked", vers: "1.0.0"}
	_, _, up := originWith(t, c)
	var mu sync.Mutex
	var seen []string
	var refuse atomic.Bool
	refuse.Store(true)
	hooks := core.StorageHooks{
		BeforePut: func(_ context.Context, ev core.HookEvent) error {
			if ev.Kind == core.KindTemporary && refuse.Load() {
				return fmt.Errorf("%w: quota exceeded", core.ErrTooLarge)
			}
			return nil
		},
		AfterPut: func(_ context.Context, ev core.HookEvent) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, fmt.Sprintf("%s %s %s", ev.Kind, ev.Package, ev.Version))
		},
	}
	e := newProxyEnvOn(t, memory.New(), hooks, Config{}, up)
	for range 2 { // refused, then allowed
		for range 2 {
			if r := e.get(ctx, "/api/v1/crates/hooked/1.0.0/download"); r.status != http.StatusOK || r.body != string(c.crateFile(t)) {
				t.Fatalf("download: %d, %d bytes", r.status, len(r.body))
			}
		}
		_, err := e.storage.Stat(ctx, upstreamFileKey("hooked", "1.0.0"))
		if refuse.Load() != errors.Is(err, core.ErrNotFound) {
			t.Fatalf("refused=%v, cached: %v", refuse.Load(), err)
		}
		refuse.Store(false)
	}
	mu.Lock()
	defer mu.Unlock()
	joined := strings.Join(seen, "\n")
	for _, want := range []string{"metadata hooked ", "artifact hooked 1.0.0"} {
		if !strings.Contains(joined, want) {
			t.Fatalf("hooks saw:\n%s\nwant %q", joined, want)
		}
	}
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
