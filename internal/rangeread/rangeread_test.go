package rangeread

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/core/storage/storagetest"
)

func TestReadAt(t *testing.T) {
	ctx := t.Context()
	counting := storagetest.NewCounting(memory.New())
	s := core.NewStorage(counting, core.StorageHooks{})
	data := make([]byte, readAhead*3+123)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if _, err := s.Put(ctx, "obj", bytes.NewReader(data), int64(len(data)), core.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	counting.Calls()
	r := New(ctx, s, "obj", -1)
	for _, c := range []struct {
		off, n  int64
		wantN   int
		wantEOF bool
	}{
		{0, 10, 10, false},
		{5, 100, 100, false},                                    // within the block read ahead
		{readAhead - 5, 10, 10, false},                          // across its end
		{readAhead * 2, readAhead + 500, readAhead + 123, true}, // past the end: short, io.EOF
		{int64(len(data)), 1, 0, true},
		{int64(len(data)) + 10, 1, 0, true},
	} {
		p := make([]byte, c.n)
		n, err := r.ReadAt(p, c.off)
		if n != c.wantN || (err == io.EOF) != c.wantEOF || (err != nil && err != io.EOF) {
			t.Errorf("ReadAt(%d, %d) = %d, %v", c.n, c.off, n, err)
		}
		if n > 0 && !bytes.Equal(p[:n], data[c.off:c.off+int64(n)]) {
			t.Errorf("ReadAt(%d, %d): wrong bytes", c.n, c.off)
		}
	}
	if calls := counting.Calls(); calls["get"] != 5 {
		t.Errorf("storage calls %v, want 5 gets (one per block fetched)", calls)
	}
	if _, err := r.ReadAt(make([]byte, 1), -1); !errors.Is(err, core.ErrInvalidArgument) {
		t.Errorf("negative offset: %v", err)
	}
	sized := New(ctx, s, "obj", int64(len(data)))
	p := make([]byte, 10)
	if n, err := sized.ReadAt(p, int64(len(data))-5); n != 5 || err != io.EOF || len(sized.buf) != 5 {
		t.Errorf("sized ReadAt at the end: %d, %v, %d bytes kept", n, err, len(sized.buf))
	}
	if n, err := sized.ReadAt(p, int64(len(data))+5); n != 0 || err != io.EOF {
		t.Errorf("sized ReadAt past the end: %d, %v", n, err)
	}
	missing := New(ctx, s, "missing", -1)
	if _, err := missing.ReadAt(make([]byte, 1), 0); !errors.Is(err, core.ErrNotFound) || !errors.Is(missing.Err(), core.ErrNotFound) {
		t.Errorf("missing object: %v, Err %v", err, missing.Err())
	}
}
