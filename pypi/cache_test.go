package pypi

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

func TestETagCache(t *testing.T) {
	type op struct {
		put        bool
		key, etag  string
		value      int
		wantValue  int
		wantCached bool
	}
	for _, tc := range []struct {
		name string
		max  int
		ops  []op
	}{
		{"hit", 2, []op{{put: true, key: "a", etag: "1", value: 1}, {key: "a", etag: "1", wantValue: 1, wantCached: true}}},
		{"other version misses", 2, []op{{put: true, key: "a", etag: "1", value: 1}, {key: "a", etag: "2"}}},
		{"new version replaces", 2, []op{
			{put: true, key: "a", etag: "1", value: 1}, {put: true, key: "a", etag: "2", value: 2},
			{key: "a", etag: "1"}, {key: "a", etag: "2", wantValue: 2, wantCached: true}}},
		{"no ETag, no caching", 2, []op{{put: true, key: "a", value: 1}, {key: "a"}}},
		{"disabled", -1, []op{{put: true, key: "a", etag: "1", value: 1}, {key: "a", etag: "1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newETagCache[string, int](tc.max)
			for i, o := range tc.ops {
				if o.put {
					c.put(o.key, o.etag, o.value)
					continue
				}
				if v, ok := c.get(o.key, o.etag); v != o.wantValue || ok != o.wantCached {
					t.Errorf("op %d: get(%s, %s) = %d, %v; want %d, %v", i, o.key, o.etag, v, ok, o.wantValue, o.wantCached)
				}
			}
		})
	}
	t.Run("bounded", func(t *testing.T) {
		c := newETagCache[int, int](10)
		for i := range 1000 {
			c.put(i, "e", i)
		}
		if n := len(c.entries); n != 10 {
			t.Errorf("%d entries, want 10", n)
		}
	})
}

// countingGets counts the Gets of keys ending in suffix.
type countingGets struct {
	core.Backend
	suffix string
	n      atomic.Int64
}

func (c *countingGets) Get(ctx context.Context, key string, rng *core.ByteRange) (io.ReadCloser, core.ObjectInfo, error) {
	if strings.HasSuffix(key, c.suffix) {
		c.n.Add(1)
	}
	return c.Backend.Get(ctx, key, rng)
}

// TestJSONAPIParsesMetadataOnce: the JSON API reads and parses a file's
// stored core metadata once; later reads of the unchanged file are served
// from the cache.
func TestJSONAPIParsesMetadataOnce(t *testing.T) {
	backend := &countingGets{Backend: memory.New(), suffix: ".metadata"}
	e := newTestEnvOn(t, backend, true)
	e.mustUpload(t.Context(), dist{name: "foo", version: "1.0", requires: []string{"bar>=1"}})
	for i := range 5 {
		r := e.do(t.Context(), request{method: http.MethodGet, path: "/foo/json"})
		if r.status != http.StatusOK || !strings.Contains(r.body, `"requires_dist":["bar>=1"]`) {
			t.Fatalf("read %d: %d %s", i, r.status, r.body)
		}
	}
	if n := backend.n.Load(); n != 1 {
		t.Errorf("5 reads of /foo/json read the stored metadata %d times, want 1", n)
	}
}
