package storagetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
)

// Factory creates a fresh, empty store for one test and registers its
// removal with tb.Cleanup.
type Factory func(tb testing.TB) Store

// Store is one fresh store, as made by a [Factory].
type Store struct {
	// Open returns a backend instance on the store. Each call returns an
	// independent instance, as another process would have (its own client,
	// its own handles); a backend that cannot have two instances on one
	// store (memory) returns the same one.
	Open func(tb testing.TB) core.Backend
	// Leftovers, when set, lists what the backend left in the store besides
	// objects: temporary files, empty directories. A case fails when
	// anything is left once it has deleted its objects.
	Leftovers func() ([]string, error)
}

// testCase is one conformance check, run on its own store.
type testCase struct {
	name string
	fn   func(t *testing.T, e *env)
}

// cases lists every check of [Run], grouped by file.
func cases() []testCase {
	var all []testCase
	all = append(all, basicCases...)
	all = append(all, conditionalCases...)
	all = append(all, listCases...)
	all = append(all, moveCases...)
	return all
}

// Run runs the conformance suite: every case is a parallel subtest on a
// store of its own.
func Run(t *testing.T, factory Factory) {
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, newEnv(t, factory))
		})
	}
}

// env is what a case works with: the store and a first backend instance on
// it.
type env struct {
	store Store
	b     core.Backend
}

// newEnv makes a store and registers the teardown check, which runs after
// every cleanup the case registers (t.Cleanup is last in, first out).
func newEnv(t *testing.T, factory Factory) *env {
	store := factory(t)
	e := &env{store: store, b: store.Open(t)}
	t.Cleanup(func() { e.checkEmpty(t) })
	return e
}

// checkEmpty fails t if a fresh instance lists any object, or the backend
// reports leftovers.
func (e *env) checkEmpty(t *testing.T) {
	b := e.store.Open(t)
	page, err := b.List(context.Background(), "", core.ListOptions{})
	switch {
	case err != nil:
		t.Errorf("teardown: list: %v", err)
	case len(page.Objects) > 0:
		t.Errorf("teardown: %d objects left behind, first %q", len(page.Objects), page.Objects[0].Key)
	}
	if e.store.Leftovers == nil {
		return
	}
	left, err := e.store.Leftovers()
	if err != nil {
		t.Errorf("teardown: leftovers: %v", err)
	} else if len(left) > 0 {
		t.Errorf("teardown: left behind: %s", strings.Join(left, ", "))
	}
}

// remove deletes keys when the case ends, before the teardown check.
func (e *env) remove(t *testing.T, keys ...string) {
	t.Cleanup(func() {
		for _, k := range keys {
			if err := e.b.Delete(context.Background(), k); err != nil {
				t.Errorf("cleanup: delete %s: %v", k, err)
			}
		}
	})
}

// put stores data at key with a known size, registers its removal, and
// returns the put's info.
func (e *env) put(t *testing.T, key string, data []byte) core.ObjectInfo {
	t.Helper()
	info, err := e.b.Put(t.Context(), key, bytes.NewReader(data), int64(len(data)), core.PutOptions{})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	e.remove(t, key)
	return info
}

// read reads the object (or range) at key whole; it is for small objects.
func read(t *testing.T, b core.Backend, key string, rng *core.ByteRange) ([]byte, core.ObjectInfo, error) {
	t.Helper()
	rc, info, err := b.Get(t.Context(), key, rng)
	if err != nil {
		return nil, info, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	return data, info, err
}

// mustRead is read that fails the test on an error.
func mustRead(t *testing.T, b core.Backend, key string) []byte {
	t.Helper()
	data, _, err := read(t, b, key, nil)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	return data
}

// wantErr fails t unless err is in target's category.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want %v", what, err, target)
	}
}

// wantAbsent fails t unless key does not exist.
func wantAbsent(t *testing.T, b core.Backend, key string) {
	t.Helper()
	_, err := b.Stat(t.Context(), key)
	wantErr(t, "stat "+key, err, core.ErrNotFound)
}
