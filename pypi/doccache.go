package pypi

import "sync"

// docCache keeps decoded project documents, each valid for one stored
// ETag; when full, an arbitrary entry goes. A cached document is shared:
// callers must not modify it.
type docCache struct {
	mu   sync.Mutex
	max  int
	docs map[string]cachedDoc
}

type cachedDoc struct {
	etag string
	doc  *projectDoc
}

func newDocCache(n int) *docCache { return &docCache{max: n, docs: map[string]cachedDoc{}} }

// get returns the document of project with ETag etag.
func (c *docCache) get(project, etag string) (*projectDoc, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.docs[project]
	if !ok || e.etag != etag {
		return nil, false
	}
	return e.doc, true
}

// latest returns the newest document of project the cache holds, whatever
// its ETag.
func (c *docCache) latest(project string) (*projectDoc, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.docs[project]
	return e.doc, ok
}

func (c *docCache) put(project, etag string, doc *projectDoc) {
	if c.max <= 0 || etag == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cur, ok := c.docs[project]
	if ok && cur.doc.Serial > doc.Serial {
		return // a newer document is cached already (renders finish in any order)
	}
	if !ok && len(c.docs) >= c.max {
		for k := range c.docs {
			delete(c.docs, k)
			break
		}
	}
	c.docs[project] = cachedDoc{etag: etag, doc: doc}
}
