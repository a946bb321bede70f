package pypi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/smartregistry/smartregistry/core"
)

// docCache keeps project documents, each valid for one stored ETag: the
// stored form (a core.EntryDoc, cheap: its lines are not decoded) and,
// once a read API needed it, the decoded projectDoc. When full, an
// arbitrary entry goes. Cached documents are shared: callers must not
// modify them.
type docCache struct {
	mu   sync.Mutex
	max  int
	docs map[string]cachedDoc
}

type cachedDoc struct {
	etag string
	ed   *core.EntryDoc[projectHead]
	doc  *projectDoc // nil until decoded
	// prev is the decoded document this one was written after, if the
	// cache had it: decoding starts from its files.
	prev *projectDoc
}

func newDocCache(n int) *docCache { return &docCache{max: n, docs: map[string]cachedDoc{}} }

// get returns the cached document of project with ETag etag.
func (c *docCache) get(project, etag string) (cachedDoc, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.docs[project]
	return e, ok && e.etag == etag
}

// latest returns the newest document of project the cache holds, whatever
// its ETag.
func (c *docCache) latest(project string) (cachedDoc, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.docs[project]
	return e, ok
}

// put caches a document, unless a newer one (by serial) is cached.
func (c *docCache) put(project string, e cachedDoc) {
	if c.max <= 0 || e.etag == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cur, ok := c.docs[project]
	if ok && cur.ed.Head.Serial > e.ed.Head.Serial {
		return
	}
	if ok && e.doc == nil && e.prev == nil {
		e.prev = cur.doc
		if e.prev == nil {
			e.prev = cur.prev
		}
	}
	if !ok && len(c.docs) >= c.max {
		for k := range c.docs {
			delete(c.docs, k)
			break
		}
	}
	c.docs[project] = e
}

// loadEntryDoc returns the stored document of a normalized project name,
// from the cache when it holds the current version (one stat), else read
// (and cached). A missing document is ErrNotFound.
func (h *Handler) loadEntryDoc(ctx context.Context, project string) (cachedDoc, error) {
	st, err := h.deps.Storage.Stat(ctx, projectKey(project))
	if err == nil {
		if e, ok := h.docs.get(project, st.ETag); ok {
			return e, nil
		}
	}
	ed, info, err := core.GetEntryDoc[projectHead](ctx, h.deps.Storage, projectKey(project))
	if errors.Is(err, core.ErrNotFound) {
		return cachedDoc{}, fmt.Errorf("%w: project %s", core.ErrNotFound, project)
	}
	if err != nil {
		return cachedDoc{}, fmt.Errorf("read project %s: %w", project, err)
	}
	e := cachedDoc{etag: info.ETag, ed: ed}
	h.docs.put(project, e)
	return e, nil
}

// fileOf decodes the record of filename from a stored document.
func fileOf(ed *core.EntryDoc[projectHead], filename string) (*fileRecord, error) {
	data, ok := ed.Get(filename)
	if !ok {
		return nil, nil
	}
	var f fileRecord
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("file %s: %w", filename, err)
	}
	return &f, nil
}
