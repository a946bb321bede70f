package pypi

import "sync"

// etagCache keeps one value per slot, tagged with the ETag of the stored
// object it was made from: a value is returned only for the same ETag, so
// it is never stale. When full, an arbitrary entry goes. A cache made with
// max <= 0 keeps nothing; an empty ETag is never cached.
type etagCache[K comparable, V any] struct {
	mu      sync.Mutex
	max     int
	entries map[K]etagEntry[V]
}

type etagEntry[V any] struct {
	etag  string
	value V
}

func newETagCache[K comparable, V any](max int) *etagCache[K, V] {
	return &etagCache[K, V]{max: max, entries: map[K]etagEntry[V]{}}
}

// get returns the value of slot k made from the object version etag.
func (c *etagCache[K, V]) get(k K, etag string) (V, bool) {
	var zero V
	if c.max <= 0 || etag == "" {
		return zero, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || e.etag != etag {
		return zero, false
	}
	return e.value, true
}

// put stores the value of slot k made from the object version etag,
// replacing the slot's value for any other version.
func (c *etagCache[K, V]) put(k K, etag string, v V) {
	if c.max <= 0 || etag == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[k]; !ok && len(c.entries) >= c.max {
		for old := range c.entries {
			delete(c.entries, old)
			break
		}
	}
	c.entries[k] = etagEntry[V]{etag: etag, value: v}
}
