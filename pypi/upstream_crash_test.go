package pypi

import (
	"bytes"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/handlertest"
)

// TestProxyCrashStates: lost answers to the cache writes (the stored page,
// a file's move into place) never fail a download nor leave a half-written
// cache entry; and what a crash leaves in the middle of a fill (a staged
// file) is swept like an abandoned upload.
func TestProxyCrashStates(t *testing.T) {
	ctx := t.Context()
	foo := dist{name: "crashy", version: "1.0"}
	_, _, up := originWith(t, foo)
	backend, lose := handlertest.LosingBackend(upstreamPrefix)
	e := newProxyEnvOn(t, backend, core.StorageHooks{}, Config{}, up)
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
	got := handlertest.ReadAll(t, e.storage, upstreamFileKey("crashy", foo.wheelName()))
	if !bytes.Equal(got, wheel) {
		t.Fatal("the cached wheel differs")
	}

	handlertest.SweepsStaged(t, e.storage, uploadKey(time.Now().Add(-2*time.Hour), "crashed"), uploadsPrefix, e.h.CleanUploads)
}
