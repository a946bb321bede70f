package core_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/core/storage/storagetest"
)

// listing is a tiny document for the Publish tests: artifact name → key.
type listing struct {
	Files map[string]string `json:"files"`
}

// publishFixture stages data and returns a Publication that lists it
// under name in doc "doc", with the given commit behaviour.
func publishFixture(t *testing.T, s *core.Storage, name, data string) core.Publication {
	t.Helper()
	staged := core.StageKey("up/", time.Now())
	if _, err := s.Put(t.Context(), staged, strings.NewReader(data), int64(len(data)), core.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	final := "art/" + core.StageID(staged)
	return core.Publication{
		Staged: staged, Final: final,
		Commit: func(ctx context.Context) error {
			_, err := core.UpdateJSON(ctx, s, "doc", func(d *listing, _ bool) error {
				if d.Files == nil {
					d.Files = map[string]string{}
				}
				if old, ok := d.Files[name]; ok {
					if rc, _, err := s.Get(ctx, old, nil); err == nil {
						defer rc.Close()
						if b, _ := io.ReadAll(rc); string(b) == data {
							return core.ErrAlreadyListed
						}
					}
					return core.ErrConflict
				}
				d.Files[name] = final
				return nil
			})
			return err
		},
		Listed: func(ctx context.Context) (bool, error) {
			var d listing
			if _, err := core.GetJSON(ctx, s, "doc", &d); err != nil {
				return false, err
			}
			return d.Files[name] == final, nil
		},
	}
}

func TestPublish(t *testing.T) {
	ctx := t.Context()
	lose := false
	backend := &storagetest.LostAnswers{Backend: memory.New(), Lose: func(key string) bool { return lose && key == "doc" }}
	s := core.NewStorage(backend, core.StorageHooks{})
	keys := func() string { return strings.Join(storagetest.Keys(ctx, t, s), " ") }

	first := publishFixture(t, s, "a-1.0", "one")
	if err := core.Publish(ctx, s, first); err != nil {
		t.Fatal(err)
	}
	if got, want := keys(), first.Final+" doc"; got != want {
		t.Fatalf("after a publish: %s, want %s", got, want)
	}
	// The same bytes again: a retry, which succeeds and leaves nothing.
	if err := core.Publish(ctx, s, publishFixture(t, s, "a-1.0", "one")); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if got, want := keys(), first.Final+" doc"; got != want {
		t.Fatalf("after a retry: %s, want %s", got, want)
	}
	// Other bytes under the same name: refused, nothing left behind.
	if err := core.Publish(ctx, s, publishFixture(t, s, "a-1.0", "two")); !errors.Is(err, core.ErrConflict) {
		t.Fatalf("other bytes: %v", err)
	}
	if got, want := keys(), first.Final+" doc"; got != want {
		t.Fatalf("after a refusal: %s, want %s", got, want)
	}
	// The document's write takes place but its answer is lost: the
	// document is asked, and the publish succeeded.
	lose = true
	lost := publishFixture(t, s, "a-2.0", "three")
	if err := core.Publish(ctx, s, lost); err != nil {
		t.Fatalf("lost answer: %v", err)
	}
	lose = false
	var d listing
	if _, err := core.GetJSON(ctx, s, "doc", &d); err != nil || d.Files["a-2.0"] != lost.Final {
		t.Fatalf("after a lost answer the document is %+v, %v", d, err)
	}
	if _, err := s.Stat(ctx, lost.Final); err != nil {
		t.Fatalf("the listed artifact is gone: %v", err)
	}
	// A staged key that is missing (swept meanwhile) fails cleanly.
	gone := publishFixture(t, s, "a-3.0", "four")
	if err := s.Delete(ctx, gone.Staged); err != nil {
		t.Fatal(err)
	}
	if err := core.Publish(ctx, s, gone); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("missing staged key: %v", err)
	}
	if got, want := keys(), first.Final+" "+lost.Final+" doc"; got != want {
		t.Fatalf("at the end: %s, want %s", got, want)
	}
}

func TestStageKey(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 30, 0, 5, time.UTC)
	key := core.StageKeyAt("p/uploads/", at, "abc")
	if key != "p/uploads/20261202T103000.000000005Z-abc" || core.StageID(key) != "20261202T103000.000000005Z-abc" {
		t.Fatalf("key %s, id %s", key, core.StageID(key))
	}
	if got, ok := core.StagedAt(key); !ok || !got.Equal(at) {
		t.Fatalf("StagedAt = %v, %v", got, ok)
	}
	for _, k := range []string{"p/uploads/abc", "p/uploads/2026-abc", "p/uploads/"} {
		if _, ok := core.StagedAt(k); ok {
			t.Errorf("StagedAt(%s) found a time", k)
		}
	}
	if a, b := core.StageKey("x/", at), core.StageKey("x/", at); a == b {
		t.Errorf("two stage keys are equal: %s", a)
	}
}

func TestSweeper(t *testing.T) {
	ctx := t.Context()
	s := core.NewStorage(memory.New(), core.StorageHooks{})
	// The clock runs a day ahead: the objects' own times (now) count as
	// old, so only the creation time in the key decides.
	now := time.Now().Add(24 * time.Hour)
	old := core.StageKeyAt("up/", now.Add(-2*time.Hour), "old")
	fresh := core.StageKeyAt("up/", now.Add(-time.Minute), "fresh")
	for _, k := range []string{old, fresh, "elsewhere/x"} {
		if _, err := s.Put(ctx, k, strings.NewReader("x"), 1, core.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	w := core.NewSweeper(s, "up/", time.Hour, time.Minute, nil, func() time.Time { return now })
	w.Maybe()
	w.Maybe() // within the interval: no second sweep
	w.Wait()
	if got := strings.Join(storagetest.Keys(ctx, t, s), " "); got != "elsewhere/x "+fresh {
		t.Fatalf("after the sweep: %s", got)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
