package cargo

import (
	"context"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// TestHookEventsOfAPublish checks what storage hooks see of a publish and
// a download: every write has a kind; the crate is one artifact with its
// crate, version and size; the crate document is metadata; the search
// shard is an index write, which Before hooks are not asked about.
func TestHookEventsOfAPublish(t *testing.T) {
	ctx := t.Context()
	var mu sync.Mutex
	var before, after, gets []core.HookEvent
	record := func(list *[]core.HookEvent) func(context.Context, core.HookEvent) {
		return func(_ context.Context, ev core.HookEvent) {
			mu.Lock()
			*list = append(*list, ev)
			mu.Unlock()
		}
	}
	e := newTestEnvOn(t, memory.New(), false, core.StorageHooks{
		BeforePut: func(ctx context.Context, ev core.HookEvent) error { record(&before)(ctx, ev); return nil },
		AfterPut:  record(&after),
		AfterGet:  record(&gets),
	})
	c := testCrate{name: "Hooked", vers: "2.0.0"}
	crate := c.crateFile(t)
	e.mustPublish(ctx, c)
	kinds := map[core.ObjectKind]int{}
	for _, ev := range after {
		kinds[ev.Kind]++
		if ev.Kind == "" {
			t.Errorf("event without kind: %+v", ev)
		}
		if ev.Kind == core.KindArtifact && (ev.Package != "hooked" || ev.Version != "2.0.0" || ev.Size != int64(len(crate))) {
			t.Errorf("artifact event %+v, want hooked 2.0.0 of %d bytes", ev, len(crate))
		}
		if ev.Kind == core.KindMetadata && ev.Package != "hooked" {
			t.Errorf("metadata event for %q", ev.Package)
		}
	}
	if want := map[core.ObjectKind]int{core.KindArtifact: 1, core.KindMetadata: 1, core.KindIndex: 1, core.KindTemporary: 1}; !maps.Equal(kinds, want) {
		t.Errorf("writes by kind: %v, want %v", kinds, want)
	}
	if slices.ContainsFunc(before, func(ev core.HookEvent) bool { return ev.Kind == core.KindIndex }) {
		t.Errorf("BeforePut was asked about an index write")
	}
	gets = nil
	e.get(ctx, "/api/v1/crates/Hooked/2.0.0/download")
	if !slices.ContainsFunc(gets, func(ev core.HookEvent) bool {
		return ev.Kind == core.KindArtifact && ev.Package == "hooked" && ev.Version == "2.0.0"
	}) {
		t.Errorf("download events: %+v", gets)
	}
}

// TestHookRefusalLeavesNothing refuses the crate document's write in a
// hook: the publish fails with the hook's status in cargo's error shape,
// nothing of it stays, and the same publish succeeds once the hook allows
// it.
func TestHookRefusalLeavesNothing(t *testing.T) {
	ctx := t.Context()
	refuse := true
	e := newTestEnvOn(t, memory.New(), false, core.StorageHooks{
		BeforePut: func(_ context.Context, ev core.HookEvent) error {
			if refuse && ev.Kind == core.KindMetadata && ev.Package == "refused" {
				return core.ErrTooLarge
			}
			return nil
		},
	})
	c := testCrate{name: "refused", vers: "1.0.0"}
	if r := e.publish(ctx, adminToken, c.body(t)); r.status != 413 {
		t.Fatalf("refused publish: %d %s", r.status, r.body)
	}
	if keys := e.keys(ctx); len(keys) != 0 {
		t.Fatalf("a refused publish left %v", keys)
	}
	refuse = false
	e.mustPublish(ctx, c)
}
