package core_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/core/storage/storagetest"
)

// entryModel is what a document should hold: entries in order.
type entryModel struct {
	ids  []string
	data map[string]string
}

func (m *entryModel) set(id, data string) {
	if _, ok := m.data[id]; !ok {
		m.ids = append(m.ids, id)
	}
	m.data[id] = data
}

func (m *entryModel) del(id string) {
	if _, ok := m.data[id]; ok {
		delete(m.data, id)
		m.ids = slices.DeleteFunc(m.ids, func(s string) bool { return s == id })
	}
}

func checkDoc(t *testing.T, what string, d *core.EntryDoc[testHead], m *entryModel, n int) {
	t.Helper()
	if d.Head.N != n {
		t.Fatalf("%s: head N=%d, want %d", what, d.Head.N, n)
	}
	var got []string
	for id, data := range d.All() {
		got = append(got, id)
		if string(data) != m.data[id] {
			t.Fatalf("%s: entry %s holds %.20q, want %.20q", what, id, data, m.data[id])
		}
	}
	if !slices.Equal(got, m.ids) {
		t.Fatalf("%s: entries %v, want %v", what, got, m.ids)
	}
}

// segmentKeys lists the sealed segments stored beside the document.
func segmentKeys(t *testing.T, s *core.Storage, key string) []string {
	t.Helper()
	var keys []string
	for _, k := range storagetest.Keys(t.Context(), t, s) {
		if strings.HasPrefix(k, key+".seg/") {
			keys = append(keys, k)
		}
	}
	return keys
}

// rootLines reads the document's root object: its size and the segments
// it names.
func rootLines(t *testing.T, s *core.Storage, key string) (int, []string) {
	t.Helper()
	rc, _, err := s.Get(t.Context(), key, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	var segs []string
	for line := range bytes.SplitSeq(b, []byte{'\n'}) {
		if name, ok := bytes.CutPrefix(line, []byte("\t+")); ok {
			name, _, _ = bytes.Cut(name, []byte{'\t'})
			segs = append(segs, key+".seg/"+string(name))
		}
	}
	slices.Sort(segs)
	return len(b), segs
}

func TestEntryDocSegmentsReplayToTheDocument(t *testing.T) {
	ctx := t.Context()
	backend := memory.New()
	s := core.NewStorage(backend, core.StorageHooks{})
	rng := rand.New(rand.NewPCG(1, 2))
	m := &entryModel{data: map[string]string{}}
	next := 0
	const updates = 700
	for u := 1; u <= updates; u++ {
		var sets [][2]string
		var dels []string
		switch r := rng.IntN(100); {
		case r < 70 || len(m.ids) < 5:
			next++
			sets = append(sets, [2]string{fmt.Sprint("v", next), strings.Repeat(string(rune('a'+next%26)), 100+rng.IntN(2000))})
		case r < 85:
			sets = append(sets, [2]string{m.ids[rng.IntN(len(m.ids))], fmt.Sprint("changed ", u)})
		case r < 95:
			dels = append(dels, m.ids[rng.IntN(len(m.ids))])
		default:
			id := m.ids[rng.IntN(len(m.ids))]
			dels = append(dels, id)
			next++
			sets = append(sets, [2]string{fmt.Sprint("v", next), "new beside a delete"}, [2]string{id, "back again"})
		}
		written, _, err := core.UpdateEntryDoc(ctx, s, "pkg/doc", func(d *core.EntryDoc[testHead], _ bool) error {
			d.Head.N++
			for _, id := range dels {
				d.Delete(id)
			}
			for _, e := range sets {
				if err := d.Set(e[0], []byte(e[1])); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("update %d: %v", u, err)
		}
		for _, id := range dels {
			m.del(id)
		}
		for _, e := range sets {
			m.set(e[0], e[1])
		}
		checkDoc(t, fmt.Sprint("update ", u, " as written"), written, m, u)
		if u%50 == 0 || u == updates {
			// Another replica, with nothing cached, reads the same.
			fresh, _, err := core.GetEntryDoc[testHead](ctx, core.NewStorage(backend, core.StorageHooks{}), "pkg/doc")
			if err != nil {
				t.Fatal(err)
			}
			checkDoc(t, fmt.Sprint("update ", u, " read by a replica"), fresh, m, u)
		}
	}
	size, named := rootLines(t, s, "pkg/doc")
	if size > 96<<10 {
		t.Errorf("root object is %d bytes: the tail is not sealed", size)
	}
	if len(named) < 1 || len(named) > 12 {
		t.Errorf("%d segments after %d updates, want a few (O(log n))", len(named), updates)
	}
	if stored := segmentKeys(t, s, "pkg/doc"); !slices.Equal(stored, named) {
		t.Errorf("stored segments %v, the root names %v: merged-away segments were left behind", stored, named)
	}
}

func TestEntryDocSegmentsConcurrentReplicas(t *testing.T) {
	ctx := t.Context()
	backend := memory.New()
	replicas := []*core.Storage{core.NewStorage(backend, core.StorageHooks{}), core.NewStorage(backend, core.StorageHooks{})}
	const n = 60
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, _, errs[i] = core.UpdateEntryDoc(ctx, replicas[i%2], "doc", func(d *core.EntryDoc[testHead], _ bool) error {
				d.Head.N++
				return d.Set(fmt.Sprint(i), bytes.Repeat([]byte{'x'}, 8<<10))
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for _, s := range replicas {
		d, _, err := core.GetEntryDoc[testHead](ctx, s, "doc")
		if err != nil || d.Len() != n || d.Head.N != n {
			t.Fatalf("after %d updates: %d entries, head %+v, %v", n, d.Len(), d.Head, err)
		}
	}
	_, named := rootLines(t, replicas[0], "doc")
	if stored := segmentKeys(t, replicas[0], "doc"); !slices.Equal(stored, named) {
		t.Errorf("stored segments %v, the root names %v", stored, named)
	}
}

func TestEntryDocSegmentsLostRootAnswer(t *testing.T) {
	ctx := t.Context()
	lose := false
	backend := &storagetest.LostAnswers{Backend: memory.New(), Lose: func(key string) bool { return lose && key == "doc" }}
	s := core.NewStorage(backend, core.StorageHooks{})
	add := func(i int) error {
		_, _, err := core.UpdateEntryDoc(ctx, s, "doc", func(d *core.EntryDoc[testHead], _ bool) error {
			d.Head.N++
			return d.Set(fmt.Sprint(i), bytes.Repeat([]byte{'y'}, 20<<10))
		})
		return err
	}
	for i := range 10 {
		lose = i%3 == 2 // some of them seal a segment, some not
		err := add(i)
		if lose != (err != nil) {
			t.Fatalf("update %d: %v", i, err)
		}
	}
	d, _, err := core.GetEntryDoc[testHead](ctx, core.NewStorage(backend.Backend, core.StorageHooks{}), "doc")
	if err != nil || d.Len() != 10 || d.Head.N != 10 {
		t.Fatalf("after 10 updates, some answers lost: %d entries, head %+v, %v", d.Len(), d.Head, err)
	}
}
