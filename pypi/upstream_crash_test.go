package pypi

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/core/storage/storagetest"
	"github.com/smartregistry/smartregistry/upstream"
)

// TestProxyCrashStates: lost answers to the cache writes (the stored page,
// a file's move into place) never fail a download nor leave a half-written
// cache entry; and what a crash leaves in the middle of a fill (a staged
// file) is swept like an abandoned upload.
func TestProxyCrashStates(t *testing.T) {
	ctx := t.Context()
	foo := dist{name: "crashy", version: "1.0"}
	_, _, up := originWith(t, foo)
	var lose atomic.Bool
	lose.Store(true)
	backend := &storagetest.LostAnswers{Backend: memory.New(), Lose: func(key string) bool {
		return lose.Load() && strings.HasPrefix(key, upstreamPrefix)
	}}
	e := newTestEnvOn(t, backend, false)
	prov, err := upstream.NewStatic(map[core.Protocol][]core.Upstream{core.ProtocolPyPI: {up}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(core.Deps{Storage: e.storage, Auth: e.h.deps.Auth, Upstream: prov, Logger: slog.New(slog.DiscardHandler)}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	e.h = h
	wheel := foo.wheel(t)

	for range 2 { // answers lost, then not
		if r := e.do(ctx, request{method: "GET", path: "/simple/crashy/", token: adminToken}); r.status != 200 {
			t.Fatalf("page: %d %s", r.status, r.body)
		}
		for range 2 {
			if r := e.do(ctx, request{method: "GET", path: "/packages/crashy/" + foo.wheelName(), token: adminToken}); r.status != 200 || r.body != string(wheel) {
				t.Fatalf("wheel: %d, %d bytes", r.status, len(r.body))
			}
		}
		lose.Store(false)
	}
	rc, _, err := e.storage.Get(ctx, upstreamFileKey("crashy", foo.wheelName()), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, wheel) {
		t.Fatal("the cached wheel differs")
	}

	// A fill interrupted by a crash leaves a staged object only.
	staged := uploadKey(time.Now().Add(-2*time.Hour), "crashed")
	if _, err := e.storage.Put(ctx, staged, bytes.NewReader(wheel[:10]), 10, core.PutOptions{}); err != nil {
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
