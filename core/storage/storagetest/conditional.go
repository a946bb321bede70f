package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/smartregistry/smartregistry/core"
)

var conditionalCases = []testCase{
	{"IfAbsent", testIfAbsent},
	{"IfMatch", testIfMatch},
	{"ConcurrentIfAbsent", testConcurrentIfAbsent},
	{"ConcurrentIfMatch", testConcurrentIfMatch},
	{"ConcurrentUpdateJSON", testConcurrentUpdateJSON},
}

func putString(ctx context.Context, b core.Backend, key, data string, opts core.PutOptions) (core.ObjectInfo, error) {
	return b.Put(ctx, key, strings.NewReader(data), int64(len(data)), opts)
}

func testIfAbsent(t *testing.T, e *env) {
	ctx := t.Context()
	for _, size := range []int64{3, -1} {
		first, err := e.b.Put(ctx, "doc", strings.NewReader("one"), size, core.PutOptions{IfAbsent: true})
		if err != nil {
			t.Fatalf("create absent doc (size %d): %v", size, err)
		}
		_, err = e.b.Put(ctx, "doc", strings.NewReader("two"), size, core.PutOptions{IfAbsent: true})
		wantErr(t, "create existing doc", err, core.ErrPreconditionFailed)
		_, err = putString(ctx, e.store.Open(t), "doc", "two", core.PutOptions{IfAbsent: true})
		wantErr(t, "create existing doc from a second instance", err, core.ErrPreconditionFailed)
		if st, err := e.b.Stat(ctx, "doc"); err != nil || st.ETag != first.ETag {
			t.Errorf("after failed creates: %+v, %v", st, err)
		}
		if got := mustRead(t, e.b, "doc"); string(got) != "one" {
			t.Errorf("failed create changed doc to %q", got)
		}
		if err := e.b.Delete(ctx, "doc"); err != nil {
			t.Fatal(err)
		}
	}
}

func testIfMatch(t *testing.T, e *env) {
	ctx := t.Context()
	v1 := e.put(t, "doc", []byte("v1"))
	_, err := putString(ctx, e.b, "doc", "bad", core.PutOptions{IfMatch: "no-such-etag"})
	wantErr(t, "put if-match a wrong ETag", err, core.ErrPreconditionFailed)
	for _, size := range []int64{2, -1} {
		v2, err := e.b.Put(ctx, "doc", strings.NewReader("v2"), size, core.PutOptions{IfMatch: v1.ETag})
		if err != nil {
			t.Fatalf("put if-match current (size %d): %v", size, err)
		}
		if v2.ETag == v1.ETag {
			t.Errorf("conditional overwrite kept ETag %q", v1.ETag)
		}
		_, err = e.b.Put(ctx, "doc", strings.NewReader("v3"), size, core.PutOptions{IfMatch: v1.ETag})
		wantErr(t, "put if-match stale ETag", err, core.ErrPreconditionFailed)
		if got := mustRead(t, e.b, "doc"); string(got) != "v2" {
			t.Errorf("after stale put: %q", got)
		}
		// Restore v1 for the next round (a new ETag; content as before).
		v1, err = putString(ctx, e.store.Open(t), "doc", "v1", core.PutOptions{IfMatch: v2.ETag})
		if err != nil {
			t.Fatalf("put if-match from a second instance: %v", err)
		}
	}
	_, err = putString(ctx, e.b, "missing", "x", core.PutOptions{IfMatch: v1.ETag})
	wantErr(t, "put if-match on a missing key", err, core.ErrPreconditionFailed)
	wantAbsent(t, e.b, "missing")
}

// contenders is how many writers race for one key in the concurrency cases.
const contenders = 16

func testConcurrentIfAbsent(t *testing.T, e *env) {
	backends := []core.Backend{e.b, e.store.Open(t)}
	errs := make([]error, contenders)
	var wg sync.WaitGroup
	for i := range contenders {
		wg.Go(func() {
			_, errs[i] = putString(t.Context(), backends[i%2], "doc", fmt.Sprintf("writer %d", i), core.PutOptions{IfAbsent: true})
		})
	}
	wg.Wait()
	e.remove(t, "doc")
	checkOneWinner(t, e, "doc", errs)
}

func testConcurrentIfMatch(t *testing.T, e *env) {
	base := e.put(t, "doc", []byte("base"))
	backends := []core.Backend{e.b, e.store.Open(t)}
	errs := make([]error, contenders)
	var wg sync.WaitGroup
	for i := range contenders {
		wg.Go(func() {
			_, errs[i] = putString(t.Context(), backends[i%2], "doc", fmt.Sprintf("writer %d", i), core.PutOptions{IfMatch: base.ETag})
		})
	}
	wg.Wait()
	checkOneWinner(t, e, "doc", errs)
}

// checkOneWinner checks that exactly one of the racing writers succeeded,
// the others failed their condition, and the winner's content is stored.
func checkOneWinner(t *testing.T, e *env, key string, errs []error) {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("writers %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, core.ErrPreconditionFailed):
			t.Errorf("writer %d: %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("no writer succeeded")
	}
	if got, want := string(mustRead(t, e.b, key)), fmt.Sprintf("writer %d", winner); got != want {
		t.Errorf("stored %q, but the winner wrote %q", got, want)
	}
}

// counterDoc is the document of the UpdateJSON race.
type counterDoc struct {
	N       int   `json:"n"`
	Writers []int `json:"writers"`
}

func testConcurrentUpdateJSON(t *testing.T, e *env) {
	const updates = 50
	storages := []*core.Storage{
		core.NewStorage(e.b, core.StorageHooks{}),
		core.NewStorage(e.store.Open(t), core.StorageHooks{}),
	}
	e.remove(t, "meta/doc.json")
	var wg sync.WaitGroup
	errs := make([]error, updates)
	for i := range updates {
		wg.Go(func() {
			_, errs[i] = core.UpdateJSON(t.Context(), storages[i%2], "meta/doc.json", func(d *counterDoc, _ bool) error {
				d.N++
				d.Writers = append(d.Writers, i)
				return nil
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("update %d: %v", i, err)
		}
	}
	var doc counterDoc
	if _, err := core.GetJSON(t.Context(), storages[1], "meta/doc.json", &doc); err != nil {
		t.Fatal(err)
	}
	slices.Sort(doc.Writers)
	doc.Writers = slices.Compact(doc.Writers)
	if doc.N != updates || len(doc.Writers) != updates {
		t.Errorf("after %d updates: n=%d with %d distinct writers: updates were lost", updates, doc.N, len(doc.Writers))
	}
}
