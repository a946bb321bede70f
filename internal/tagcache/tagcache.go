// Package tagcache keeps values made from documents, each tagged with the
// version (an ETag or a digest) of the document it was made from, so that
// a value is only ever returned for the version it was made from: never
// stale. The cache holds one value per key within a byte budget; when full,
// arbitrary entries go.
package tagcache

import "sync"

// Cache is a byte-budgeted cache of tagged values; it is safe for
// concurrent use.
type Cache[V any] struct {
	mu      sync.Mutex
	max     int64
	cost    func(key string, v V) int64
	entries map[string]entry[V]
}

type entry[V any] struct {
	tag   string
	value V
}

// New returns a cache holding values whose costs (bytes, as cost reports
// them) add up to at most max.
func New[V any](max int64, cost func(key string, v V) int64) *Cache[V] {
	return &Cache[V]{max: max, cost: cost, entries: map[string]entry[V]{}}
}

// Get returns the value of key made from version tag.
func (c *Cache[V]) Get(key, tag string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || e.tag != tag {
		var zero V
		return zero, false
	}
	return e.value, true
}

// Put stores v, made from version tag, as the value of key, replacing the
// key's value of any other version, and drops arbitrary other entries until
// all fit the budget. Costs are asked anew at each Put, so a value whose
// cost grows after it was stored (it keeps renderings of its own) counts as
// it is now. The new value is kept even when it alone exceeds the budget.
func (c *Cache[V]) Put(key, tag string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, key)
	total := c.cost(key, v)
	costs := make(map[string]int64, len(c.entries))
	for k, e := range c.entries {
		costs[k] = c.cost(k, e.value)
		total += costs[k]
	}
	for k := range c.entries {
		if total <= c.max {
			break
		}
		total -= costs[k]
		delete(c.entries, k)
	}
	c.entries[key] = entry[V]{tag: tag, value: v}
}
