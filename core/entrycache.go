package core

import "sync"

// segmentBudget bounds the bytes of sealed segments whose replay the
// segment cache keeps.
const segmentBudget = 64 << 20

// segmentCache keeps, per document, the replay of its sealed segments,
// which never change: a document's segment list names its replay.
type segmentCache struct {
	mu    sync.Mutex
	m     map[string]cachedBase
	bytes int64
}

type cachedBase struct {
	sig  string
	e    *entries
	size int64
}

func (c *segmentCache) base(key, sig string) (*entries, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.m[key]
	if !ok || b.sig != sig {
		return nil, false
	}
	return b.e, true
}

// putBase keeps e, the replay of the segments sig names, for key. e must
// not change afterwards.
func (c *segmentCache) putBase(key, sig string, e *entries, size int64) {
	if size > segmentBudget/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]cachedBase)
	}
	if old, ok := c.m[key]; ok {
		c.bytes -= old.size
	}
	for k, b := range c.m {
		if c.bytes+size <= segmentBudget {
			break
		}
		delete(c.m, k)
		c.bytes -= b.size
	}
	c.m[key] = cachedBase{sig: sig, e: e, size: size}
	c.bytes += size
}
