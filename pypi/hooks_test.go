package pypi

import (
	"context"
	"sync"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// TestHookEventsOfAnUpload checks what storage hooks see of an upload:
// every write has a kind; the file is one artifact with its project,
// version and size; the project document and the core metadata are
// metadata; the /simple/ index marker is an index write, which Before
// hooks are not asked about.
func TestHookEventsOfAnUpload(t *testing.T) {
	ctx := t.Context()
	var mu sync.Mutex
	var before, after []core.HookEvent
	e := newTestEnvOn(t, memory.New(), true)
	e.storage = core.NewStorage(e.storage.Backend(), core.StorageHooks{
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
	})
	e.h.deps.Storage = e.storage
	d := dist{name: "hooked", version: "2.0"}
	wheel := d.wheel(t)
	if r := e.upload(ctx, d, d.wheelName(), wheel, nil); r.status != 200 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	kinds := map[core.ObjectKind]int{}
	for _, ev := range after {
		kinds[ev.Kind]++
		if ev.Kind == "" || ev.Time.IsZero() {
			t.Errorf("event without kind or time: %+v", ev)
		}
		if ev.Kind == core.KindArtifact && (ev.Package != "hooked" || ev.Version != "2.0" || ev.Size != int64(len(wheel))) {
			t.Errorf("artifact event %+v, want hooked 2.0 of %d bytes", ev, len(wheel))
		}
		if ev.Kind == core.KindMetadata && ev.Package != "hooked" {
			t.Errorf("metadata event for %q", ev.Package)
		}
	}
	if kinds[core.KindArtifact] != 1 || kinds[core.KindMetadata] != 2 || kinds[core.KindIndex] != 1 || kinds[core.KindTemporary] != 1 {
		t.Errorf("writes by kind: %v", kinds)
	}
	for _, ev := range before {
		if ev.Kind == core.KindIndex {
			t.Errorf("BeforePut was asked about an index write: %+v", ev)
		}
	}
}

// TestHookRefusalLeavesNothing refuses the project document's write in a
// hook: the upload fails with the hook's status, nothing of it stays, and
// the same upload succeeds once the hook allows it.
func TestHookRefusalLeavesNothing(t *testing.T) {
	ctx := t.Context()
	refuse := true
	e := newTestEnvOn(t, memory.New(), true)
	e.storage = core.NewStorage(e.storage.Backend(), core.StorageHooks{
		BeforePut: func(_ context.Context, ev core.HookEvent) error {
			if refuse && ev.Kind == core.KindMetadata && ev.Package == "refused" {
				return core.ErrTooLarge
			}
			return nil
		},
	})
	e.h.deps.Storage = e.storage
	before := e.keys(ctx)
	d := dist{name: "refused", version: "1.0"}
	if r := e.upload(ctx, d, d.wheelName(), d.wheel(t), nil); r.status != 413 {
		t.Fatalf("refused upload: %d %s", r.status, r.body)
	}
	if after := e.keys(ctx); len(after) != len(before) {
		t.Fatalf("a refused upload left %v", after)
	}
	refuse = false
	e.mustUpload(ctx, d)
}
