package cargo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
)

// crateHead is the small part of a crate document (a core.EntryDoc at
// crateKey). Its entries are, per version, "<vers>" → the index line
// served as is, and "=<vers without build metadata>" → its versionRecord.
// A publish decodes only the head and the lines it needs and appends, so
// its cost does not grow with the number of versions.
type crateHead struct {
	// Name is the crate's name as first published; other spellings of it
	// are refused.
	Name string `json:"name"`
	// Owners are the user ids that may publish, yank and change owners;
	// the first publisher is the first.
	Owners []string `json:"owners"`
	// Deleted are the tombstones of deleted versions (without build
	// metadata): they are never published again.
	Deleted map[string]time.Time `json:"deleted,omitempty"`
	// Seq grows with every change.
	Seq int64 `json:"seq"`
}

// crateDoc is the stored crate document.
type crateDoc = core.EntryDoc[crateHead]

// recordPrefix starts the id of a version's record; no version starts
// with it.
const recordPrefix = "="

// versionRecord is what the registry keeps about a version beside its
// index line.
type versionRecord struct {
	// Vers is the version as published, build metadata included.
	Vers string `json:"vers"`
	// Object is the id of the stored .crate (fileKey).
	Object    string    `json:"object"`
	Size      int64     `json:"size"`
	Cksum     string    `json:"cksum"`
	Published time.Time `json:"published"`
	Publisher string    `json:"publisher,omitempty"`
}

// record returns the record of a version (any build metadata ignored).
func record(d *crateDoc, v Version) (*versionRecord, bool) {
	data, ok := d.Get(recordPrefix + v.withoutBuild())
	if !ok {
		return nil, false
	}
	var r versionRecord
	if json.Unmarshal(data, &r) != nil {
		return nil, false
	}
	return &r, true
}

// isOwner reports whether user owns the crate.
func (hd *crateHead) isOwner(user string) bool {
	for _, o := range hd.Owners {
		if o == user {
			return true
		}
	}
	return false
}

// renderIndex is the crate's index file: its index lines in publish order,
// each ending in a newline.
func renderIndex(d *crateDoc) []byte {
	n := 0
	for id, data := range d.All() {
		if !strings.HasPrefix(id, recordPrefix) {
			n += len(data) + 1
		}
	}
	buf := make([]byte, 0, n)
	for id, data := range d.All() {
		if !strings.HasPrefix(id, recordPrefix) {
			buf = append(buf, data...)
			buf = append(buf, '\n')
		}
	}
	return buf
}

// indexCache keeps crate documents and their rendered index files, each
// valid for one stored ETag, within a byte budget: an entry counts twice
// its stored document's size (the document, and the index file rendered
// from it, which is smaller). When full, arbitrary entries go. Cached
// values are shared: callers must not modify them.
type indexCache struct {
	mu      sync.Mutex
	max     int64
	size    int64
	entries map[string]*cachedCrate
}

// cachedCrate is one version of a crate document.
type cachedCrate struct {
	etag    string
	modTime time.Time
	size    int64 // of the stored document
	doc     *crateDoc
	once    sync.Once
	index   []byte // rendered on first use
}

// newCached describes a document read or written with info.
func newCached(doc *crateDoc, info core.ObjectInfo) *cachedCrate {
	return &cachedCrate{etag: info.ETag, modTime: info.ModTime, size: info.Size, doc: doc}
}

// rendered returns the index file, rendering it once.
func (c *cachedCrate) rendered() []byte {
	c.once.Do(func() { c.index = renderIndex(c.doc) })
	return c.index
}

func (c *cachedCrate) cost() int64 { return 2*max(c.size, 0) + 256 }

func newIndexCache(maxBytes int64) *indexCache {
	return &indexCache{max: maxBytes, entries: map[string]*cachedCrate{}}
}

func (c *indexCache) get(crate, etag string) (*cachedCrate, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[crate]
	return e, ok && e.etag == etag
}

// put caches a document unless a newer one (by Seq) is cached, or it
// alone is over the budget.
func (c *indexCache) put(crate string, e *cachedCrate) {
	if e.etag == "" || e.cost() > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.entries[crate]; ok {
		if cur.doc.Head.Seq > e.doc.Head.Seq {
			return
		}
		c.size -= cur.cost()
		delete(c.entries, crate)
	}
	for k, old := range c.entries {
		if c.size+e.cost() <= c.max {
			break
		}
		c.size -= old.cost()
		delete(c.entries, k)
	}
	c.entries[crate] = e
	c.size += e.cost()
}

// loadCrate returns the current document of a crate by any spelling of its
// name, from the cache when it holds the stored version (one stat). A
// crate without document is ErrNotFound.
func (h *Handler) loadCrate(ctx context.Context, name string) (*cachedCrate, error) {
	crate := NormalizeName(name)
	st, err := h.deps.Storage.Stat(ctx, crateKey(crate))
	if errors.Is(err, core.ErrNotFound) {
		return nil, fmt.Errorf("%w: crate %s", core.ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("read crate %s: %w", name, err)
	}
	if e, ok := h.cache.get(crate, st.ETag); ok {
		if e.modTime.IsZero() { // cached after a write whose answer had no time (S3)
			e = newCached(e.doc, st)
			h.cache.put(crate, e)
		}
		return e, nil
	}
	d, info, err := core.GetEntryDoc[crateHead](ctx, h.deps.Storage, crateKey(crate))
	if errors.Is(err, core.ErrNotFound) {
		return nil, fmt.Errorf("%w: crate %s", core.ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("read crate %s: %w", name, err)
	}
	e := newCached(d, info)
	h.cache.put(crate, e)
	return e, nil
}

// config serves config.json: where crates are downloaded from, where the
// web API is, and whether reads need a token. When they do, an anonymous
// request is refused with 401 so that cargo retries with its token.
func (h *Handler) config(ctx context.Context, req *core.RequestContext, _ route.Params) (*core.Response, error) {
	if _, err := h.reader(ctx, req); err != nil {
		return nil, err
	}
	cfg := map[string]any{"dl": req.BaseURL + "/api/v1/crates", "api": req.BaseURL, "auth-required": h.authRequired()}
	resp := core.JSONResponse(http.StatusOK, cfg)
	resp.Header.Set("Cache-Control", "no-cache")
	return resp, nil
}

// me serves the page cargo login points the user to.
func (h *Handler) me(_ context.Context, _ *core.RequestContext, _ route.Params) (*core.Response, error) {
	return core.BytesResponse(http.StatusOK, "text/plain; charset=utf-8",
		[]byte("Use a smartregistry token with cargo:crate:<name>:<action> scopes: cargo login --registry <name>\n")), nil
}

// indexFile serves a crate's file in the sparse index, at its standard
// path only, with ETag and Last-Modified; If-None-Match and
// If-Modified-Since are answered with 304. Versions other spellings of the
// name are not served: cargo tries the spellings itself.
func (h *Handler) indexFile(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	principal, err := h.reader(ctx, req)
	if err != nil {
		return nil, err
	}
	name := p["name"]
	if ValidateName(name) != nil || req.Path != "/"+IndexPath(name) {
		return nil, fmt.Errorf("%w: %s", core.ErrNotFound, req.Path)
	}
	e, err := h.loadCrate(ctx, name)
	if h.proxied(err) {
		return h.upstreamIndexFile(ctx, req, principal, name)
	}
	if err != nil {
		return nil, err
	}
	if strings.ToLower(e.doc.Head.Name) != name {
		return nil, fmt.Errorf("%w: crate %s", core.ErrNotFound, name)
	}
	if err := h.deps.Auth.Authorize(ctx, principal, crateScope(e.doc.Head.Name, core.ActionRead)); err != nil {
		return nil, err
	}
	if h.merging() {
		if body, etag, ok := h.mergedIndex(ctx, principal, name, e); ok {
			return indexResponse(req, body, etag, time.Time{})
		}
	}
	return indexResponse(req, e.rendered(), httpETag(e.etag), e.modTime.UTC().Truncate(time.Second))
}

// indexResponse serves an index file with its validators (lastModified
// may be zero), or 304 when the request's match.
func indexResponse(req *core.RequestContext, body []byte, etag string, lastModified time.Time) (*core.Response, error) {
	if notModified(req.Header, etag, lastModified) {
		resp := core.NewResponse(http.StatusNotModified)
		resp.Header.Set("ETag", etag)
		if !lastModified.IsZero() {
			resp.Header.Set("Last-Modified", lastModified.Format(http.TimeFormat))
		}
		return resp, nil
	}
	if len(body) == 0 { // every version deleted
		return nil, fmt.Errorf("%w: %s has no versions", core.ErrNotFound, req.Path)
	}
	resp := core.BytesResponse(http.StatusOK, "text/plain; charset=utf-8", body)
	resp.Header.Set("ETag", etag)
	if !lastModified.IsZero() {
		resp.Header.Set("Last-Modified", lastModified.Format(http.TimeFormat))
	}
	resp.Header.Set("Cache-Control", "no-cache")
	return resp, nil
}

// httpETag quotes a stored document's ETag for HTTP.
func httpETag(etag string) string {
	return `"` + strings.Trim(etag, `"`) + `"`
}

// notModified applies the request's validators: If-None-Match when sent,
// else If-Modified-Since.
func notModified(h http.Header, etag string, modTime time.Time) bool {
	if inm := h.Get("If-None-Match"); inm != "" {
		for c := range strings.SplitSeq(inm, ",") {
			c = strings.TrimPrefix(strings.TrimSpace(c), "W/")
			if c == "*" || c == etag {
				return true
			}
		}
		return false
	}
	if ims := h.Get("If-Modified-Since"); ims != "" && !modTime.IsZero() {
		t, err := http.ParseTime(ims)
		return err == nil && !modTime.After(t)
	}
	return false
}

// indexLine decodes the index line of a version from a document.
func indexLine(d *crateDoc, vers string) (*IndexEntry, bool) {
	data, ok := d.Get(vers)
	if !ok {
		return nil, false
	}
	var e IndexEntry
	if json.NewDecoder(bytes.NewReader(data)).Decode(&e) != nil {
		return nil, false
	}
	return &e, true
}
