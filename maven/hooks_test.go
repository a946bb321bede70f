package maven

import (
	"context"
	"sync"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// TestHookEventsOfADeploy checks what storage hooks see of a deploy:
// every write has a kind; the file is one artifact with its
// group:artifact and version and its size; the version and artifact
// documents are metadata.
func TestHookEventsOfADeploy(t *testing.T) {
	ctx := t.Context()
	var mu sync.Mutex
	var after []core.HookEvent
	e := newTestEnvOn(t, memory.New(), Config{}, core.StorageHooks{
		AfterPut: func(_ context.Context, ev core.HookEvent) {
			mu.Lock()
			after = append(after, ev)
			mu.Unlock()
		},
	})
	const jar = "hooked jar"
	e.deploy(ctx, "/com/example/hooked/2.0/hooked-2.0.jar", jar)
	kinds := map[core.ObjectKind]int{}
	for _, ev := range after {
		kinds[ev.Kind]++
		if ev.Kind == "" || ev.Package != "com.example:hooked" || ev.Version != "2.0" {
			t.Errorf("event %+v, want a kind and com.example:hooked 2.0", ev)
		}
		if ev.Kind == core.KindArtifact && ev.Size != int64(len(jar)) {
			t.Errorf("artifact event of %d bytes, want %d", ev.Size, len(jar))
		}
	}
	if kinds[core.KindArtifact] != 1 || kinds[core.KindMetadata] != 2 || kinds[core.KindTemporary] != 1 || len(kinds) != 3 {
		t.Errorf("writes by kind: %v", kinds)
	}
}

// TestHookRefusalLeavesNothing refuses, in a hook, each write of a deploy
// in turn: the deploy fails with the hook's status, nothing of it stays,
// and the same deploy succeeds once the hook allows it.
func TestHookRefusalLeavesNothing(t *testing.T) {
	for _, refused := range []string{versionDocName, artifactDocName, string(core.KindArtifact)} {
		t.Run(refused, func(t *testing.T) {
			ctx := t.Context()
			refuse := true
			e := newTestEnvOn(t, memory.New(), Config{}, core.StorageHooks{
				BeforePut: func(_ context.Context, ev core.HookEvent) error {
					if refuse && (ev.Kind == core.ObjectKind(refused) || len(ev.Key) > len(refused) && ev.Key[len(ev.Key)-len(refused):] == refused) {
						return core.ErrTooLarge
					}
					return nil
				},
			})
			before := e.keys(ctx)
			p := "/com/example/refused/1.0/refused-1.0.jar"
			if r := e.do(ctx, request{method: "PUT", path: p, body: "x", token: adminToken}); r.status != 413 {
				t.Fatalf("refused deploy: %d %s", r.status, r.body)
			}
			after := e.keys(ctx)
			// An emptied version document may stay; nothing it lists does.
			for _, k := range after {
				if k != versionKey("com.example", "refused", "1.0") && !contains(before, k) {
					t.Errorf("a refused deploy left %s", k)
				}
			}
			if r := e.get(ctx, p); r.status != 404 {
				t.Errorf("refused file served: %d", r.status)
			}
			refuse = false
			e.deploy(ctx, p, "x")
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
