package composer

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/smartregistry/smartregistry/core"
)

// TestHookEventsOfAnUpload checks what storage hooks see of an upload:
// the staged upload is temporary, the zip one artifact with its package,
// normalized version and size, the package document metadata, and the
// marker an index write, which Before hooks are not asked about.
func TestHookEventsOfAnUpload(t *testing.T) {
	ctx := t.Context()
	var mu sync.Mutex
	var before, after []core.HookEvent
	e := newTestEnvOn(t, newMemory(), core.StorageHooks{
		BeforePut: func(_ context.Context, ev core.HookEvent) error {
			mu.Lock()
			before = append(before, ev)
			mu.Unlock()
			return nil
		},
		AfterPut: func(_ context.Context, ev core.HookEvent) {
			mu.Lock()
			after = append(after, ev)
			mu.Unlock()
		},
	}, Config{})
	p := pkg{name: "acme/hooked", version: "2.0"}
	zip := p.zip(t)
	e.mustUpload(ctx, p, "")
	kinds := map[core.ObjectKind]int{}
	for _, ev := range after {
		kinds[ev.Kind]++
		if ev.Package != "acme/hooked" || ev.Time.IsZero() {
			t.Errorf("event without package or time: %+v", ev)
		}
		if ev.Kind == core.KindArtifact && (ev.Version != "2.0.0.0" || ev.Size != int64(len(zip))) {
			t.Errorf("artifact event %+v, want 2.0.0.0 of %d bytes", ev, len(zip))
		}
	}
	if kinds[core.KindArtifact] != 1 || kinds[core.KindMetadata] != 1 || kinds[core.KindIndex] != 1 || kinds[core.KindTemporary] != 1 {
		t.Errorf("writes by kind: %v", kinds)
	}
	if slices.ContainsFunc(before, func(ev core.HookEvent) bool { return ev.Kind == core.KindIndex }) {
		t.Error("BeforePut was asked about an index write")
	}
}

// TestHookRefusalLeavesNothing refuses the package document's write in a
// hook: the upload fails with the hook's status, nothing of it stays, and
// the same upload succeeds once the hook allows it.
func TestHookRefusalLeavesNothing(t *testing.T) {
	ctx := t.Context()
	var mu sync.Mutex
	refuse := true
	e := newTestEnvOn(t, newMemory(), core.StorageHooks{
		BeforePut: func(_ context.Context, ev core.HookEvent) error {
			mu.Lock()
			defer mu.Unlock()
			if refuse && ev.Kind == core.KindMetadata {
				return core.ErrTooLarge
			}
			return nil
		},
	}, Config{})
	p := pkg{name: "acme/refused", version: "1.0.0"}
	if r := e.upload(ctx, p.name, "", p.zip(t)); r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("refused upload: %d %s", r.status, r.body)
	}
	if keys := e.keys(ctx); len(keys) != 0 {
		t.Fatalf("a refused upload left %v", keys)
	}
	mu.Lock()
	refuse = false
	mu.Unlock()
	e.mustUpload(ctx, p, "")
}
