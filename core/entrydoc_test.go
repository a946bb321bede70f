package core_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

type testHead struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

func TestEntryDocRoundTrip(t *testing.T) {
	var d core.EntryDoc[testHead]
	d.Head = testHead{Name: "pkg", N: 2}
	for _, e := range []struct{ id, data string }{{"1.0.0", `{"a":1}`}, {"2.0.0", "{\"b\":\"x\ty\"}"}, {"0.1.0", ""}} {
		if err := d.Set(e.id, []byte(e.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Set("1.0.0", []byte(`{"a":2}`)); err != nil { // replaces in place
		t.Fatal(err)
	}
	b, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	want := "{\"name\":\"pkg\",\"n\":2}\n1.0.0\t{\"a\":2}\n2.0.0\t{\"b\":\"x\ty\"}\n0.1.0\t\n"
	if string(b) != want {
		t.Fatalf("encoded %q, want %q", b, want)
	}
	var back core.EntryDoc[testHead]
	if err := back.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if back.Head != d.Head || back.Len() != 3 {
		t.Fatalf("decoded %+v with %d entries", back.Head, back.Len())
	}
	var order []string
	for id, data := range back.All() {
		order = append(order, id+"="+string(data))
	}
	if got := strings.Join(order, " "); got != "1.0.0={\"a\":2} 2.0.0={\"b\":\"x\ty\"} 0.1.0=" {
		t.Errorf("entries %s", got)
	}
	if !back.Delete("2.0.0") || back.Delete("2.0.0") {
		t.Error("Delete reported wrongly")
	}
	if _, ok := back.Get("2.0.0"); ok {
		t.Error("deleted entry still there")
	}
	if data, ok := back.Get("0.1.0"); !ok || len(data) != 0 {
		t.Errorf("Get after a Delete: %q %v", data, ok)
	}
}

func TestEntryDocRefusesBadInput(t *testing.T) {
	var d core.EntryDoc[testHead]
	for _, tc := range []struct{ id, data string }{{"", "x"}, {"a\tb", "x"}, {"a\nb", "x"}, {"ok", "line\nbreak"}} {
		if err := d.Set(tc.id, []byte(tc.data)); !errors.Is(err, core.ErrInvalidArgument) {
			t.Errorf("Set(%q, %q) = %v", tc.id, tc.data, err)
		}
	}
	for _, b := range []string{"not json\n", "{}\nno tab here\n", "{}\n\tno id\n"} {
		if err := new(core.EntryDoc[testHead]).UnmarshalBinary([]byte(b)); err == nil {
			t.Errorf("UnmarshalBinary(%q) accepted", b)
		}
	}
}

// TestUpdateEntryDocConcurrent adds entries from many writers at once:
// every one lands, each change saw the document it changed.
func TestUpdateEntryDocConcurrent(t *testing.T) {
	ctx := t.Context()
	s := core.NewStorage(memory.New(), core.StorageHooks{})
	const n = 40
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, _, errs[i] = core.UpdateEntryDoc(ctx, s, "doc", func(d *core.EntryDoc[testHead], _ bool) error {
				d.Head.N++
				return d.Set(fmt.Sprint(i), []byte("{}"))
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	d, _, err := core.GetEntryDoc[testHead](ctx, s, "doc")
	if err != nil || d.Len() != n || d.Head.N != n {
		t.Fatalf("after %d updates: %d entries, head %+v, %v", n, d.Len(), d.Head, err)
	}
	// ErrNoChange writes nothing and returns the document as read.
	before, _ := s.Stat(ctx, "doc")
	got, info, err := core.UpdateEntryDoc(ctx, s, "doc", func(*core.EntryDoc[testHead], bool) error { return core.ErrNoChange })
	if err != nil || got.Len() != n || info.ETag != before.ETag {
		t.Fatalf("ErrNoChange: %d entries, %+v, %v", got.Len(), info, err)
	}
}
