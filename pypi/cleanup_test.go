package pypi

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/smartregistry/smartregistry/core"
)

// plantUpload stores a temporary upload object as a process that crashed
// mid-upload would have left it, created at created (in its key).
func (e *testEnv) plantUpload(ctx context.Context, created time.Time) string {
	e.t.Helper()
	key := uploadKey(created, uuid.NewString())
	if _, err := e.storage.Put(ctx, key, strings.NewReader("partial"), 7, core.PutOptions{}); err != nil {
		e.t.Fatal(err)
	}
	return key
}

// uploadKeys lists the temporary upload objects.
func (e *testEnv) uploadKeys(ctx context.Context) []string {
	e.t.Helper()
	return slices.DeleteFunc(e.keys(ctx), func(k string) bool { return !strings.HasPrefix(k, uploadsPrefix) })
}

// TestUploadsStartCleanup: an upload starts a background sweep that removes
// the temporary objects older than UploadMaxAge, at most once per
// UploadCleanupInterval, and none after Close. The clock is the handler's
// (injected); the planted objects' storage times are the real clock's, a
// day earlier, so that only the age in the key decides.
func TestUploadsStartCleanup(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, true)
	start := time.Now().Add(24 * time.Hour)
	clock := start
	e.h.now = func() time.Time { return clock }
	upload := func(version string) {
		t.Helper()
		d := dist{name: "foo", version: version}
		if r := e.upload(ctx, d, d.sdistName(), d.sdist(t), nil); r.status != 200 {
			t.Fatalf("upload: %d %s", r.status, r.body)
		}
		e.h.sweeper.Wait() // the sweep the upload may have started
	}

	stale := e.plantUpload(ctx, start.Add(-2*time.Hour))
	fresh := e.plantUpload(ctx, start.Add(-10*time.Minute))
	legacy := uploadsPrefix + uuid.NewString() // no time in the key: its storage time counts
	if _, err := e.storage.Put(ctx, legacy, strings.NewReader("x"), 1, core.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	upload("1.0")
	if got := e.uploadKeys(ctx); !slices.Equal(got, []string{fresh}) {
		t.Fatalf("after the first sweep: %v, want only %s (not %s, %s)", got, fresh, stale, legacy)
	}

	stale2 := e.plantUpload(ctx, start.Add(-3*time.Hour))
	clock = start.Add(5 * time.Minute)
	upload("1.1")
	if got := e.uploadKeys(ctx); !slices.Equal(got, []string{stale2, fresh}) {
		t.Fatalf("a sweep ran within the interval: %v", got)
	}
	clock = start.Add(11 * time.Minute)
	upload("1.2")
	if got := e.uploadKeys(ctx); !slices.Equal(got, []string{fresh}) {
		t.Fatalf("after the interval: %v, want only %s", got, fresh)
	}

	if err := e.h.Close(ctx); err != nil {
		t.Fatal(err)
	}
	stale3 := e.plantUpload(ctx, start.Add(-3*time.Hour))
	clock = start.Add(2 * time.Hour)
	upload("1.3")
	if got := e.uploadKeys(ctx); !slices.Equal(got, []string{stale3, fresh}) {
		t.Fatalf("a sweep ran after Close: %v", got)
	}
}

// TestCleanUploads calls CleanUploads directly: an object whose key says
// it is old but which was written recently (an upload that took long to
// arrive) stays; with sweeps disabled, uploads start none.
func TestCleanUploads(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, true)
	e.h.cfg.UploadCleanupInterval = -1
	now := time.Now()
	slow := e.plantUpload(ctx, now.Add(-2*time.Hour))
	d := dist{name: "foo", version: "1.0"}
	if r := e.upload(ctx, d, d.sdistName(), d.sdist(t), nil); r.status != 200 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	if got := e.uploadKeys(ctx); !slices.Equal(got, []string{slow}) {
		t.Fatalf("with sweeps disabled: %v", got)
	}
	tests := []struct {
		before  time.Time
		removed int
		left    []string
	}{
		{now.Add(-time.Hour), 0, []string{slow}},        // written after before
		{now.Add(-3 * time.Hour), 0, []string{slow}},    // created after before
		{time.Now().Add(time.Minute), 1, []string(nil)}, // created and written before
	}
	for _, tt := range tests {
		n, err := e.h.CleanUploads(ctx, tt.before)
		if err != nil || n != tt.removed {
			t.Fatalf("CleanUploads(%v) = %d, %v; want %d", tt.before, n, err, tt.removed)
		}
		if got := e.uploadKeys(ctx); !slices.Equal(got, tt.left) {
			t.Fatalf("CleanUploads(%v) left %v, want %v", tt.before, got, tt.left)
		}
	}
}

func TestUploadCreated(t *testing.T) {
	at := time.Date(2026, 11, 22, 21, 0, 0, 123456789, time.FixedZone("x", 3600))
	key := uploadKey(at, "0f8e-11")
	if want := "pypi/uploads/20261122T200000.123456789Z-0f8e-11"; key != want {
		t.Fatalf("uploadKey = %s, want %s", key, want)
	}
	if got, ok := uploadCreated(key); !ok || !got.Equal(at) {
		t.Fatalf("uploadCreated(%s) = %v, %v", key, got, ok)
	}
	for _, k := range []string{uploadsPrefix + uuid.NewString(), uploadsPrefix + "x", uploadsPrefix} {
		if _, ok := uploadCreated(k); ok {
			t.Errorf("uploadCreated(%s) found a time", k)
		}
	}
}
