package core

import (
	"fmt"
	"slices"
	"testing"
)

// opsFrom turns fuzz bytes into operations on a few ids: each byte picks
// an id (low bits), a delete or a set (high bit), and the data.
func opsFrom(b []byte) []entryOp {
	ops := make([]entryOp, 0, len(b))
	for i, c := range b {
		id := fmt.Sprint("v", c&7)
		if c&0x80 != 0 {
			ops = append(ops, entryOp{id: id, del: true})
		} else {
			ops = append(ops, entryOp{id: id, data: fmt.Appendf(nil, "%d", i)})
		}
	}
	return ops
}

func replay(start *entries, lists ...[]entryOp) ([]string, []string) {
	e := &entries{ids: slices.Clone(start.ids), data: slices.Clone(start.data)}
	for _, ops := range lists {
		e.apply(ops)
	}
	e.compact()
	data := make([]string, len(e.data))
	for i, d := range e.data {
		data[i] = string(d)
	}
	return e.ids, data
}

// FuzzMergeOps checks the property segments and tails rely on: applying
// mergeOps(a, b) to any document gives what applying a then b gives, and
// with oldest set the same holds from an empty document; and a root
// encodes and parses back to the same operations.
func FuzzMergeOps(f *testing.F) {
	f.Add([]byte{1, 2, 3}, []byte{0x81, 2, 1}, []byte{4, 5})
	f.Add([]byte{1, 0x81, 1}, []byte{0x81, 1, 0x81}, []byte{1})
	f.Fuzz(func(t *testing.T, before, a, b []byte) {
		start := &entries{}
		start.apply(opsFrom(before))
		start.compact()
		opsA, opsB := opsFrom(a), opsFrom(b)
		merged := mergeOps(opsA, opsB, false)
		wantIDs, wantData := replay(start, opsA, opsB)
		gotIDs, gotData := replay(start, merged)
		if !slices.Equal(gotIDs, wantIDs) || !slices.Equal(gotData, wantData) {
			t.Fatalf("merged %v %v, in turn %v %v", gotIDs, gotData, wantIDs, wantData)
		}
		empty := &entries{}
		wantIDs, wantData = replay(empty, opsA, opsB)
		gotIDs, gotData = replay(empty, mergeOps(opsA, opsB, true))
		if !slices.Equal(gotIDs, wantIDs) || !slices.Equal(gotData, wantData) {
			t.Fatalf("merged as oldest %v %v, in turn %v %v", gotIDs, gotData, wantIDs, wantData)
		}
		root := entryRoot{head: []byte(`{}`), segs: []segmentRef{{name: "s1", size: 3}}, tail: merged}
		back, err := parseRoot(root.encode())
		if err != nil || len(back.tail) != len(merged) || len(back.segs) != 1 || back.segs[0] != root.segs[0] {
			t.Fatalf("root round trip: %+v, %v", back, err)
		}
		for i, o := range back.tail {
			if o.id != merged[i].id || o.del != merged[i].del || string(o.data) != string(merged[i].data) {
				t.Fatalf("op %d: %+v, want %+v", i, o, merged[i])
			}
		}
	})
}
