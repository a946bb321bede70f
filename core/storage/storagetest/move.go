package storagetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/smartregistry/smartregistry/core"
)

// moveCases check core.Storage.Move, which uses the backend's Move where
// it has the core.Mover capability, and streams otherwise.
var moveCases = []testCase{
	{"Move", testMove},
	{"MoveConditions", testMoveConditions},
	{"MoveMissingSource", testMoveMissingSource},
	{"ConcurrentMoveIfAbsent", testConcurrentMoveIfAbsent},
}

// storage wraps the case's backend in a core.Storage without hooks.
func (e *env) storage() *core.Storage { return core.NewStorage(e.b, core.StorageHooks{}) }

func testMove(t *testing.T, e *env) {
	ctx := t.Context()
	data := bytes.Repeat([]byte("move me "), 4096)
	for _, tc := range []struct {
		name string
		data []byte
		opts core.PutOptions
	}{
		{"unconditional", data, core.PutOptions{}},
		{"if-absent", data, core.PutOptions{IfAbsent: true}},
		{"empty", nil, core.PutOptions{IfAbsent: true}},
	} {
		src, dst := "staged/"+tc.name, "placed/"+tc.name+"/obj"
		e.put(t, src, tc.data)
		info, err := e.storage().Move(ctx, src, dst, tc.opts)
		if err != nil {
			t.Fatalf("%s: move: %v", tc.name, err)
		}
		e.remove(t, dst)
		if info.Key != dst || info.Size != int64(len(tc.data)) || info.ETag == "" {
			t.Errorf("%s: move info %+v", tc.name, info)
		}
		other := e.store.Open(t)
		if st, err := other.Stat(ctx, dst); err != nil || st.ETag != info.ETag || st.Size != info.Size {
			t.Errorf("%s: stat of the moved object: %+v, %v; move said %+v", tc.name, st, err, info)
		}
		if got := mustRead(t, other, dst); !bytes.Equal(got, tc.data) {
			t.Errorf("%s: the moved object differs", tc.name)
		}
		wantAbsent(t, other, src)
	}
}

func testMoveConditions(t *testing.T, e *env) {
	ctx := t.Context()
	e.put(t, "src", []byte("new"))
	old := e.put(t, "dst", []byte("old"))
	e.remove(t, "src", "dst")
	for _, tc := range []struct {
		name string
		opts core.PutOptions
	}{
		{"if-absent on an existing key", core.PutOptions{IfAbsent: true}},
		{"if-match with another ETag", core.PutOptions{IfMatch: old.ETag + "x"}},
	} {
		_, err := e.storage().Move(ctx, "src", "dst", tc.opts)
		wantErr(t, tc.name, err, core.ErrPreconditionFailed)
		if got := mustRead(t, e.b, "dst"); string(got) != "old" {
			t.Errorf("%s: the destination became %q", tc.name, got)
		}
		if got := mustRead(t, e.b, "src"); string(got) != "new" {
			t.Errorf("%s: the source became %q", tc.name, got)
		}
	}
	_, err := e.storage().Move(ctx, "src", "absent", core.PutOptions{IfMatch: old.ETag})
	wantErr(t, "if-match on a missing key", err, core.ErrPreconditionFailed)
	wantAbsent(t, e.b, "absent")
	info, err := e.storage().Move(ctx, "src", "dst", core.PutOptions{IfMatch: old.ETag})
	if err != nil {
		t.Fatalf("move if-match with the current ETag: %v", err)
	}
	if info.ETag == old.ETag {
		t.Errorf("the replaced object kept its ETag %q", old.ETag)
	}
	if got := mustRead(t, e.b, "dst"); string(got) != "new" {
		t.Errorf("after the move the destination is %q", got)
	}
	wantAbsent(t, e.b, "src")
}

func testMoveMissingSource(t *testing.T, e *env) {
	_, err := e.storage().Move(t.Context(), "missing", "dst", core.PutOptions{IfAbsent: true})
	wantErr(t, "move of a missing key", err, core.ErrNotFound)
	wantAbsent(t, e.b, "dst")
}

// testConcurrentMoveIfAbsent races several instances to move their own
// source onto one key: exactly one wins, the losers keep their sources.
func testConcurrentMoveIfAbsent(t *testing.T, e *env) {
	const n = 8
	ctx := t.Context()
	for i := range n {
		e.put(t, fmt.Sprintf("src/%d", i), []byte(fmt.Sprintf("writer %d", i)))
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s := core.NewStorage(e.store.Open(t), core.StorageHooks{})
			_, errs[i] = s.Move(ctx, fmt.Sprintf("src/%d", i), "winner", core.PutOptions{IfAbsent: true})
		})
	}
	wg.Wait()
	e.remove(t, "winner")
	checkOneWinner(t, e, "winner", errs)
	for i, err := range errs {
		src := fmt.Sprintf("src/%d", i)
		if err == nil {
			wantAbsent(t, e.b, src)
		} else if b := mustRead(t, e.b, src); string(b) != fmt.Sprintf("writer %d", i) {
			t.Errorf("loser %d's source became %q", i, b)
		}
	}
}
