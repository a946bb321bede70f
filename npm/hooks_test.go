package npm

import (
	"context"
	"sync"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// hookLog records the events storage hooks see.
type hookLog struct {
	mu     sync.Mutex
	before []core.HookEvent
	after  []core.HookEvent
}

func (l *hookLog) hooks() core.StorageHooks {
	return core.StorageHooks{
		BeforePut: func(_ context.Context, ev core.HookEvent) error {
			l.mu.Lock()
			l.before = append(l.before, ev)
			l.mu.Unlock()
			return nil
		},
		AfterPut: func(_ context.Context, ev core.HookEvent) {
			l.mu.Lock()
			l.after = append(l.after, ev)
			l.mu.Unlock()
		},
	}
}

// TestHookEventsOfAPublish checks what storage hooks see of a publish:
// every write has a kind; the tarball is one artifact with its package,
// version and size; the packument is metadata of the package; the search
// index write is an index write, which Before hooks are not asked about.
func TestHookEventsOfAPublish(t *testing.T) {
	ctx := t.Context()
	var log hookLog
	e := newTestEnv(t, memory.New())
	e.storage = core.NewStorage(e.storage.Backend(), log.hooks())
	e.h.deps.Storage = e.storage
	p := newPublish(t, "hooked", "1.2.3")
	e.publish(ctx, adminToken, p)

	kinds := map[core.ObjectKind]int{}
	for _, ev := range log.after {
		kinds[ev.Kind]++
		if ev.Kind == "" || ev.Time.IsZero() || ev.Protocol != "" && ev.Protocol != core.ProtocolNPM {
			t.Errorf("event without kind, time or protocol: %+v", ev)
		}
		switch ev.Kind {
		case core.KindArtifact:
			if ev.Package != "hooked" || ev.Version != "1.2.3" || ev.Size != int64(len(p.tarball)) {
				t.Errorf("artifact event %+v, want hooked@1.2.3 of %d bytes", ev, len(p.tarball))
			}
		case core.KindMetadata, core.KindIndex, core.KindTemporary:
			if ev.Package != "hooked" {
				t.Errorf("%s event for package %q", ev.Kind, ev.Package)
			}
		}
	}
	if kinds[core.KindArtifact] != 1 || kinds[core.KindMetadata] != 1 || kinds[core.KindIndex] != 1 || kinds[core.KindTemporary] != 1 {
		t.Errorf("writes by kind: %v", kinds)
	}
	for _, ev := range log.before {
		if ev.Kind == core.KindIndex {
			t.Errorf("BeforePut was asked about an index write: %+v", ev)
		}
	}
}
