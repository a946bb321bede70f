// Package shardindex keeps in memory an index that is stored as a fixed
// number of core.EntryDoc shards (one line per package), as the npm and
// Cargo search indexes are: a publish rewrites one small shard, and a
// reader checks the shards' ETags and reloads only those that changed,
// which another process may have written.
package shardindex

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"

	"github.com/smartregistry/smartregistry/core"
)

// Shard returns which of n shards the entry with id belongs in (FNV-1a of
// id, modulo n).
func Shard(id string, n int) int {
	f := fnv.New32a()
	f.Write([]byte(id))
	return int(f.Sum32() % uint32(n))
}

// Index is the in-memory copy of an index of n shards, each a
// core.EntryDoc with head H, whose lines are read as entries E. It is safe
// for concurrent use.
type Index[H, E any] struct {
	storage *core.Storage
	key     func(shard int) string
	parse   func(id string, data []byte) (E, bool)
	cmp     func(a, b E) int

	mu     sync.Mutex
	etags  []string // of the shards as loaded; "" for none
	shards [][]E
	all    []E // all shards, sorted by cmp
}

// New returns an Index of the n shards whose keys key gives. parse reads
// one line (false leaves it out: unreadable, or marked removed); cmp
// orders the entries a Snapshot returns.
func New[H, E any](s *core.Storage, n int, key func(shard int) string,
	parse func(id string, data []byte) (E, bool), cmp func(a, b E) int) *Index[H, E] {
	return &Index[H, E]{storage: s, key: key, parse: parse, cmp: cmp,
		etags: make([]string, n), shards: make([][]E, n)}
}

// Snapshot returns every entry, sorted. It stats the shards in parallel
// and reloads those whose ETag changed since they were loaded; a shard
// that does not exist has no entries. The slice returned is shared with
// other callers, which must not modify it. Its cost is one Stat per shard,
// plus one read per changed shard.
func (x *Index[H, E]) Snapshot(ctx context.Context) ([]E, error) {
	etags := make([]string, len(x.etags))
	errs := make([]error, len(x.etags))
	var wg sync.WaitGroup
	for i := range etags {
		wg.Go(func() {
			st, err := x.storage.Stat(ctx, x.key(i))
			if err != nil && !errors.Is(err, core.ErrNotFound) {
				errs[i] = err
			}
			etags[i] = st.ETag
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	changed := false
	for i, etag := range etags {
		if etag == x.etags[i] {
			continue
		}
		var entries []E
		if etag != "" {
			var err error
			if entries, etag, err = x.load(ctx, i); err != nil {
				return nil, err
			}
		}
		x.etags[i], x.shards[i], changed = etag, entries, true
	}
	if changed {
		all := slices.Concat(x.shards...)
		slices.SortFunc(all, x.cmp)
		x.all = all
	}
	return x.all, nil
}

// load reads one shard's entries and the ETag of what it read.
func (x *Index[H, E]) load(ctx context.Context, i int) ([]E, string, error) {
	d, info, err := core.GetEntryDoc[H](ctx, x.storage, x.key(i))
	if errors.Is(err, core.ErrNotFound) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read index shard %d: %w", i, err)
	}
	entries := make([]E, 0, d.Len())
	for id, data := range d.All() {
		if e, ok := x.parse(id, data); ok {
			entries = append(entries, e)
		}
	}
	return entries, info.ETag, nil
}
