package cargo

import (
	"fmt"
	"testing"

	"github.com/smartregistry/smartregistry/core"
)

// TestIndexCacheBudget: the cache stays within its byte budget, keeps the
// newest document of a crate, and refuses a document over the budget.
func TestIndexCacheBudget(t *testing.T) {
	doc := func(seq int64) *crateDoc { return &crateDoc{Head: crateHead{Name: "x", Seq: seq}} }
	c := newIndexCache(10_000)
	for i := range 20 {
		c.put(fmt.Sprint("crate", i), newCached(doc(1), core.ObjectInfo{ETag: "e", Size: 1000}))
		if c.size > c.max {
			t.Fatalf("after %d puts: %d bytes cached, budget %d", i+1, c.size, c.max)
		}
	}
	if n := len(c.entries); n == 0 || n > 4 {
		t.Errorf("%d entries of 2256 bytes in a budget of 10000", n)
	}
	c.put("a", newCached(doc(2), core.ObjectInfo{ETag: "new", Size: 10}))
	c.put("a", newCached(doc(1), core.ObjectInfo{ETag: "old", Size: 10}))
	if _, ok := c.get("a", "new"); !ok {
		t.Errorf("an older document replaced a newer one")
	}
	c.put("big", newCached(doc(1), core.ObjectInfo{ETag: "e", Size: 6000}))
	if _, ok := c.get("big", "e"); ok {
		t.Errorf("a document over the budget was cached")
	}
	off := newIndexCache(-1)
	off.put("a", newCached(doc(1), core.ObjectInfo{ETag: "e", Size: 1}))
	if len(off.entries) != 0 {
		t.Errorf("a disabled cache cached")
	}
}
