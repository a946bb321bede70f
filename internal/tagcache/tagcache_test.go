package tagcache

import (
	"strconv"
	"testing"
)

func TestCache(t *testing.T) {
	c := New(100, func(_ string, v []byte) int64 { return int64(len(v)) })
	c.Put("a", "v1", make([]byte, 40))
	if _, ok := c.Get("a", "v1"); !ok {
		t.Fatal("a@v1 not kept")
	}
	if _, ok := c.Get("a", "v2"); ok {
		t.Fatal("a@v2 returned a value made from v1")
	}
	c.Put("a", "v2", make([]byte, 50))
	if _, ok := c.Get("a", "v1"); ok {
		t.Fatal("a@v1 kept beside a@v2")
	}
	c.Put("b", "v1", make([]byte, 50))
	if _, ok := c.Get("a", "v2"); !ok {
		t.Fatal("a dropped although both fit")
	}
	c.Put("c", "v1", make([]byte, 30)) // 130 > 100: a or b goes
	var kept int
	for _, k := range []string{"a", "b"} {
		if _, ok := c.Get(k, map[string]string{"a": "v2", "b": "v1"}[k]); ok {
			kept++
		}
	}
	if _, ok := c.Get("c", "v1"); !ok || kept != 1 {
		t.Fatalf("c kept %v, %d of a and b kept; want c and one", ok, kept)
	}
	c.Put("huge", "v1", make([]byte, 500))
	if _, ok := c.Get("huge", "v1"); !ok || len(c.entries) != 1 {
		t.Fatalf("an oversize value: %d entries", len(c.entries))
	}
}

// A value's cost is asked again at each Put: one that grew is counted
// as it is now.
func TestCacheCostsGrow(t *testing.T) {
	sizes := map[string]int64{}
	c := New(100, func(k string, _ int) int64 { return sizes[k] })
	for i := range 3 {
		k := strconv.Itoa(i)
		sizes[k] = 30
		c.Put(k, "t", i)
	}
	sizes["0"] = 80 // 0 grew: 80+30+30 > 100
	sizes["3"] = 10
	c.Put("3", "t", 3)
	var total int64
	for k := range c.entries {
		total += sizes[k]
	}
	if total > 100 {
		t.Fatalf("entries cost %d, over the budget", total)
	}
}
