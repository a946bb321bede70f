package shardindex

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

type head struct{}

const shards = 4

func key(i int) string { return fmt.Sprintf("index/shard-%d", i) }

// parse keeps every line but those whose data is "removed".
func parse(id string, data []byte) (string, bool) {
	return id + "=" + string(data), string(data) != "removed"
}

func set(t *testing.T, s *core.Storage, id, data string) {
	t.Helper()
	if _, _, err := core.UpdateEntryDoc(t.Context(), s, key(Shard(id, shards)), func(d *core.EntryDoc[head], _ bool) error {
		return d.Set(id, []byte(data))
	}); err != nil {
		t.Fatal(err)
	}
}

// TestSnapshot changes the stored shards between snapshots and checks
// what each snapshot holds and how many shards it read.
func TestSnapshot(t *testing.T) {
	var reads atomic.Int64
	s := core.NewStorage(memory.New(), core.StorageHooks{AfterGet: func(context.Context, core.HookEvent) { reads.Add(1) }})
	x := New[head](s, shards, key, parse, strings.Compare)
	steps := []struct {
		name   string
		change func(t *testing.T)
		want   []string
		reads  int64
	}{
		{"no shards", func(*testing.T) {}, nil, 0},
		{"two entries", func(t *testing.T) { set(t, s, "b", "2"); set(t, s, "a", "1") }, []string{"a=1", "b=2"}, -1},
		{"unchanged", func(*testing.T) {}, []string{"a=1", "b=2"}, 0},
		{"one changed, one removed", func(t *testing.T) { set(t, s, "a", "3"); set(t, s, "b", "removed") }, []string{"a=3"}, -1},
		{"shards deleted", func(t *testing.T) {
			for i := range shards {
				if err := s.Delete(t.Context(), key(i)); err != nil && !errors.Is(err, core.ErrNotFound) {
					t.Fatal(err)
				}
			}
		}, nil, 0},
	}
	for _, st := range steps {
		st.change(t)
		before := reads.Load()
		got, err := x.Snapshot(t.Context())
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if !slices.Equal(got, st.want) {
			t.Errorf("%s: %q, want %q", st.name, got, st.want)
		}
		if n := reads.Load() - before; st.reads >= 0 && n != st.reads {
			t.Errorf("%s: %d reads, want %d", st.name, n, st.reads)
		}
	}
}

func TestShard(t *testing.T) {
	for _, id := range []string{"", "a", "serde", "@scope/name"} {
		if i := Shard(id, 16); i < 0 || i >= 16 || Shard(id, 16) != i {
			t.Errorf("Shard(%q, 16) = %d", id, i)
		}
	}
}
