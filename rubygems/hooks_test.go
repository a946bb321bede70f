package rubygems

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// TestHookEventsOfAPush checks what storage hooks see of a push: every
// write has a kind; the .gem is one artifact with its gem, version and
// size; the gem document is metadata; the /versions record is an index
// write, which Before hooks are not asked about. A hook that refuses the
// artifact refuses the push with its message, and nothing is listed.
func TestHookEventsOfAPush(t *testing.T) {
	ctx := t.Context()
	var mu sync.Mutex
	var before, after []core.HookEvent
	refuse := false
	e := newTestEnvOn(t, memory.New(), true, Config{})
	e.storage = core.NewStorage(e.storage.Backend(), core.StorageHooks{
		BeforePut: func(_ context.Context, ev core.HookEvent) error {
			mu.Lock()
			defer mu.Unlock()
			before = append(before, ev)
			if refuse && ev.Kind == core.KindArtifact {
				return errors.New("quota exceeded")
			}
			return nil
		},
		AfterPut: func(_ context.Context, ev core.HookEvent) {
			mu.Lock()
			after = append(after, ev)
			mu.Unlock()
		},
	})
	e.h.deps.Storage = e.storage
	e.h.versions.s = e.storage
	gem := fixture{name: "hooked", version: "2.0.0", platform: "java"}.gem(t)
	if r := e.push(ctx, gem); r.status != 200 {
		t.Fatalf("push: %d %s", r.status, r.body)
	}
	kinds := map[core.ObjectKind]int{}
	for _, ev := range after {
		kinds[ev.Kind]++
		if ev.Kind == "" {
			t.Errorf("event without kind: %+v", ev)
		}
		if ev.Kind == core.KindArtifact && (ev.Package != "hooked" || ev.Version != "2.0.0-java" || ev.Size != int64(len(gem))) {
			t.Errorf("artifact event %+v", ev)
		}
		if ev.Kind == core.KindMetadata && ev.Package != "hooked" {
			t.Errorf("metadata event for %q", ev.Package)
		}
	}
	// temporary: the upload; index: the first base of /versions and one record.
	if kinds[core.KindArtifact] != 1 || kinds[core.KindMetadata] != 1 || kinds[core.KindIndex] != 2 || kinds[core.KindTemporary] != 1 {
		t.Errorf("writes by kind: %v", kinds)
	}
	for _, ev := range before {
		if ev.Kind == core.KindIndex {
			t.Errorf("BeforePut was asked about an index write: %+v", ev)
		}
	}
	refuse = true
	r := e.push(ctx, fixture{name: "hooked", version: "3.0.0"}.gem(t))
	if r.status != 403 || !strings.Contains(r.body, "quota exceeded") {
		t.Errorf("refused push: %d %s", r.status, r.body)
	}
	if strings.Contains(e.get(ctx, "/info/hooked").body, "3.0.0") {
		t.Error("a refused gem is listed")
	}
}
