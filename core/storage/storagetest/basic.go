package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/smartregistry/smartregistry/core"
)

var basicCases = []testCase{
	{"PutGetStatDelete", testPutGetStatDelete},
	{"EmptyObject", testEmptyObject},
	{"NotFound", testNotFound},
	{"InvalidKeys", testInvalidKeys},
	{"Ranges", testRanges},
	{"UnknownSize", testUnknownSize},
	{"SizeMismatch", testSizeMismatch},
	{"FailedPutWritesNothing", testFailedPut},
	{"OverwriteChangesETag", testOverwrite},
	{"Copy", testCopy},
	{"Ping", testPing},
}

func testPutGetStatDelete(t *testing.T, e *env) {
	ctx := t.Context()
	data := []byte("hello, storage")
	for _, key := range []string{"k", "dir/sub/k.json", "sp ace/ü@+=,;%41"} {
		put := e.put(t, key, data)
		if put.Key != key || put.Size != int64(len(data)) || put.ETag == "" {
			t.Errorf("put %s: info %+v", key, put)
		}
		st, err := e.b.Stat(ctx, key)
		if err != nil {
			t.Fatalf("stat %s: %v", key, err)
		}
		if st.Key != key || st.Size != put.Size || st.ETag != put.ETag || st.ModTime.IsZero() {
			t.Errorf("stat %s: %+v, put said %+v", key, st, put)
		}
		got, info, err := read(t, e.b, key, nil)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("get %s: %q, %v", key, got, err)
		}
		if info.Size != put.Size || info.ETag != put.ETag {
			t.Errorf("get %s: info %+v, put said %+v", key, info, put)
		}
		if got := mustRead(t, e.store.Open(t), key); !bytes.Equal(got, data) {
			t.Errorf("second instance: get %s: %q", key, got)
		}
		if err := e.b.Delete(ctx, key); err != nil {
			t.Fatalf("delete %s: %v", key, err)
		}
		wantAbsent(t, e.b, key)
		if err := e.b.Delete(ctx, key); err != nil {
			t.Errorf("delete %s again: %v", key, err)
		}
	}
}

func testEmptyObject(t *testing.T, e *env) {
	for _, size := range []int64{0, -1} {
		info, err := e.b.Put(t.Context(), "empty", strings.NewReader(""), size, core.PutOptions{})
		if err != nil {
			t.Fatalf("put empty, size %d: %v", size, err)
		}
		e.remove(t, "empty")
		if info.Size != 0 {
			t.Errorf("put empty: size %d", info.Size)
		}
		got, info, err := read(t, e.b, "empty", nil)
		if err != nil || len(got) != 0 || info.Size != 0 {
			t.Errorf("get empty: %q, %+v, %v", got, info, err)
		}
		got, _, err = read(t, e.b, "empty", &core.ByteRange{Offset: 0, Length: -1})
		if err != nil || len(got) != 0 {
			t.Errorf("get empty from 0: %q, %v", got, err)
		}
	}
}

func testNotFound(t *testing.T, e *env) {
	ctx := t.Context()
	e.put(t, "dir/present", []byte("x"))
	for _, key := range []string{"missing", "dir/missing", "dir", "dir/present/below", "nodir/x"} {
		_, _, err := e.b.Get(ctx, key, nil)
		wantErr(t, "get "+key, err, core.ErrNotFound)
		_, _, err = e.b.Get(ctx, key, &core.ByteRange{Offset: 0, Length: 1})
		wantErr(t, "get range of "+key, err, core.ErrNotFound)
		_, err = e.b.Stat(ctx, key)
		wantErr(t, "stat "+key, err, core.ErrNotFound)
		if err := e.b.Delete(ctx, key); err != nil {
			t.Errorf("delete %s: %v", key, err)
		}
		if c, ok := e.b.(core.Copier); ok {
			_, err = c.Copy(ctx, key, "copy-dst")
			wantErr(t, "copy from "+key, err, core.ErrNotFound)
		}
	}
	wantAbsent(t, e.b, "copy-dst")
	page, err := e.b.List(ctx, "nodir/", core.ListOptions{})
	if err != nil || len(page.Objects)+len(page.CommonPrefixes) > 0 || page.NextStartAfter != "" {
		t.Errorf("list of a missing prefix: %+v, %v", page, err)
	}
}

func testInvalidKeys(t *testing.T, e *env) {
	ctx := t.Context()
	e.put(t, "valid", []byte("x"))
	keys := []string{"", "../x", "a/../b", "a/./b", "a//b", "/abs", "a/", ".hidden", ".tmp/x", ".locks/00",
		`a\b`, "a\x00b", "a\nb", strings.Repeat("k", 1025)}
	for _, key := range keys {
		name := fmt.Sprintf("%q", key)
		if len(name) > 24 {
			name = name[:20] + "..."
		}
		t.Run(name, func(t *testing.T) {
			_, _, err := e.b.Get(ctx, key, nil)
			wantErr(t, "get", err, core.ErrInvalidArgument)
			_, err = e.b.Stat(ctx, key)
			wantErr(t, "stat", err, core.ErrInvalidArgument)
			_, err = e.b.Put(ctx, key, strings.NewReader("x"), 1, core.PutOptions{})
			wantErr(t, "put", err, core.ErrInvalidArgument)
			_, err = e.b.Put(ctx, key, strings.NewReader("x"), 1, core.PutOptions{IfAbsent: true})
			wantErr(t, "conditional put", err, core.ErrInvalidArgument)
			wantErr(t, "delete", e.b.Delete(ctx, key), core.ErrInvalidArgument)
			if c, ok := e.b.(core.Copier); ok {
				_, err = c.Copy(ctx, "valid", key)
				wantErr(t, "copy to", err, core.ErrInvalidArgument)
				_, err = c.Copy(ctx, key, "valid-copy")
				wantErr(t, "copy from", err, core.ErrInvalidArgument)
			}
			if key != "" && key != "a/" {
				_, err = e.b.List(ctx, key, core.ListOptions{})
				wantErr(t, "list", err, core.ErrInvalidArgument)
			}
		})
	}
	wantAbsent(t, e.b, "valid-copy")
}

func testRanges(t *testing.T, e *env) {
	data := make([]byte, 100)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	e.put(t, "obj", data)
	tests := []struct {
		off, n  int64
		want    []byte
		wantErr error
	}{
		{0, -1, data, nil},
		{0, 100, data, nil},
		{10, 5, data[10:15], nil},
		{0, 1, data[:1], nil},
		{99, 1, data[99:], nil},
		{95, -1, data[95:], nil},
		{95, 100, data[95:], nil},
		{50, 0, []byte{}, nil},
		{100, -1, nil, core.ErrRangeNotSatisfiable},
		{100, 1, nil, core.ErrRangeNotSatisfiable},
		{1000, 10, nil, core.ErrRangeNotSatisfiable},
	}
	for _, tt := range tests {
		rng := &core.ByteRange{Offset: tt.off, Length: tt.n}
		got, info, err := read(t, e.b, "obj", rng)
		if tt.wantErr != nil {
			wantErr(t, fmt.Sprintf("range %+v", *rng), err, tt.wantErr)
			continue
		}
		if err != nil || !bytes.Equal(got, tt.want) {
			t.Errorf("range %+v: %q, %v; want %q", *rng, got, err, tt.want)
		}
		if info.Size != 100 {
			t.Errorf("range %+v: info.Size %d, want the whole object's 100", *rng, info.Size)
		}
	}
	_, _, err := e.b.Get(t.Context(), "obj", &core.ByteRange{Offset: -1, Length: 1})
	if !errors.Is(err, core.ErrInvalidArgument) && !errors.Is(err, core.ErrRangeNotSatisfiable) {
		t.Errorf("negative offset: %v, want ErrInvalidArgument or ErrRangeNotSatisfiable", err)
	}
}

func testUnknownSize(t *testing.T, e *env) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 40000) // 625 KiB
	// HalfReader hides the bytes.Reader (no Len, no WriterTo) and makes reads short.
	info, err := e.b.Put(t.Context(), "unknown", iotest.HalfReader(bytes.NewReader(data)), -1, core.PutOptions{})
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	e.remove(t, "unknown")
	if info.Size != int64(len(data)) {
		t.Errorf("put: size %d, want %d", info.Size, len(data))
	}
	if got := mustRead(t, e.b, "unknown"); !bytes.Equal(got, data) {
		t.Errorf("get: %d bytes differ from the %d put", len(got), len(data))
	}
}

func testSizeMismatch(t *testing.T, e *env) {
	e.put(t, "kept", []byte("original"))
	for _, key := range []string{"new", "kept"} {
		for _, tt := range []struct {
			data string
			size int64
		}{{"short", 10}, {"longer than announced", 5}} {
			_, err := e.b.Put(t.Context(), key, strings.NewReader(tt.data), tt.size, core.PutOptions{})
			wantErr(t, fmt.Sprintf("put %d bytes as %d", len(tt.data), tt.size), err, core.ErrInvalidArgument)
		}
	}
	wantAbsent(t, e.b, "new")
	if got := mustRead(t, e.b, "kept"); string(got) != "original" {
		t.Errorf("failed puts changed kept to %q", got)
	}
}

// failingReader yields some bytes, then reports that it has started and
// waits for release before failing, so the test can look at the store in
// the middle of a put.
type failingReader struct {
	data     []byte
	started  chan struct{}
	release  chan struct{}
	signaled bool
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) > 0 {
		n := copy(p, r.data)
		r.data = r.data[n:]
		return n, nil
	}
	if !r.signaled {
		r.signaled = true
		close(r.started)
		<-r.release
	}
	return 0, errors.New("client went away")
}

func testFailedPut(t *testing.T, e *env) {
	e.put(t, "kept", []byte("original"))
	for _, key := range []string{"new", "kept"} {
		for _, size := range []int64{-1, 1 << 20} {
			started, release := make(chan struct{}), make(chan struct{})
			r := &failingReader{data: bytes.Repeat([]byte("x"), 100<<10), started: started, release: release}
			done := make(chan error, 1)
			go func() {
				_, err := e.b.Put(t.Context(), key, r, size, core.PutOptions{})
				done <- err
			}()
			select {
			case <-started:
				// The put is in the middle of the stream: nothing new is visible.
				if key == "new" {
					wantAbsent(t, e.b, key)
				} else if got := mustRead(t, e.b, key); string(got) != "original" {
					t.Errorf("during put: %s is %d bytes", key, len(got))
				}
				close(release)
			case err := <-done:
				t.Fatalf("put %s returned %v before reading its body", key, err)
			}
			if err := <-done; err == nil {
				t.Errorf("put %s from a failing reader succeeded", key)
			}
		}
	}
	// A cancelled context fails the put too.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := e.b.Put(ctx, "new", io.LimitReader(zeros{}, 1<<20), -1, core.PutOptions{})
	if err == nil {
		t.Errorf("put with a cancelled context succeeded")
	}
	wantAbsent(t, e.b, "new")
	if got := mustRead(t, e.b, "kept"); string(got) != "original" {
		t.Errorf("failed puts changed kept to %q", got)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func testOverwrite(t *testing.T, e *env) {
	first := e.put(t, "obj", []byte("version 1"))
	second := e.put(t, "obj", []byte("version 2"))
	if first.ETag == second.ETag {
		t.Errorf("overwrite kept ETag %q", first.ETag)
	}
	st, err := e.store.Open(t).Stat(t.Context(), "obj")
	if err != nil || st.ETag != second.ETag {
		t.Errorf("stat after overwrite: %+v, %v; want ETag %q", st, err, second.ETag)
	}
	if got := mustRead(t, e.b, "obj"); string(got) != "version 2" {
		t.Errorf("get after overwrite: %q", got)
	}
}

func testCopy(t *testing.T, e *env) {
	c, ok := e.b.(core.Copier)
	if !ok {
		t.Skip("backend has no Copy")
	}
	ctx := t.Context()
	data := bytes.Repeat([]byte("copy me "), 1000)
	e.put(t, "src/obj", data)
	e.put(t, "dst/existing", []byte("old"))
	for _, dst := range []string{"dst/new/obj", "dst/existing"} {
		info, err := c.Copy(ctx, "src/obj", dst)
		if err != nil {
			t.Fatalf("copy to %s: %v", dst, err)
		}
		e.remove(t, dst)
		if info.Key != dst || info.Size != int64(len(data)) || info.ETag == "" {
			t.Errorf("copy to %s: info %+v", dst, info)
		}
		if st, err := e.b.Stat(ctx, dst); err != nil || st.ETag != info.ETag {
			t.Errorf("stat %s: %+v, %v; copy said ETag %q", dst, st, err, info.ETag)
		}
		if got := mustRead(t, e.b, dst); !bytes.Equal(got, data) {
			t.Errorf("copy at %s differs", dst)
		}
	}
	if got := mustRead(t, e.b, "src/obj"); !bytes.Equal(got, data) {
		t.Errorf("copy changed its source")
	}
	// Through Storage, which runs the hooks around the backend's Copy.
	var puts []string
	s := core.NewStorage(e.b, core.StorageHooks{AfterPut: func(_ context.Context, ev core.HookEvent) { puts = append(puts, ev.Key) }})
	if _, err := s.Copy(ctx, "src/obj", "dst/hooked"); err != nil {
		t.Fatalf("Storage.Copy: %v", err)
	}
	e.remove(t, "dst/hooked")
	if len(puts) != 1 || puts[0] != "dst/hooked" {
		t.Errorf("AfterPut saw %q", puts)
	}
}

func testPing(t *testing.T, e *env) {
	if err := core.NewStorage(e.b, core.StorageHooks{}).Ping(t.Context()); err != nil {
		t.Errorf("ping: %v", err)
	}
}
