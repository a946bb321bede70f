package npm

import (
	"context"
	"errors"
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
)

// abbreviatedType is the media type of the abbreviated document.
const abbreviatedType = "application/vnd.npm.install-v1+json"

// getPackument serves GET /<pkg>: the full document, or the abbreviated one
// when the client accepts it. Rendered documents are cached by the stored
// document's ETag; If-None-Match is answered with 304.
func (h *Handler) getPackument(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	name := p["pkg"]
	if _, err := h.authorize(ctx, req, name, core.ActionRead); err != nil {
		return nil, err
	}
	abbreviated := strings.Contains(req.Header.Get("Accept"), abbreviatedType) && req.Query.Get("write") != "true"
	body, etag, err := h.renderedPackument(ctx, name, req.BaseURL, abbreviated)
	if h.proxied(err) {
		return h.upstreamPackument(ctx, req, name, abbreviated)
	}
	if err != nil {
		return nil, err
	}
	if h.merging() {
		body, etag = h.mergedPackument(ctx, req, name, body, etag, abbreviated)
	}
	ctype := "application/json"
	if abbreviated {
		ctype = abbreviatedType
	}
	if etagMatches(req.Header.Get("If-None-Match"), etag) {
		resp := core.NewResponse(http.StatusNotModified)
		resp.Header.Set("ETag", etag)
		resp.Header.Set("Vary", "Accept")
		return resp, nil
	}
	resp := core.BytesResponse(http.StatusOK, ctype, body)
	resp.Header.Set("ETag", etag)
	resp.Header.Set("Vary", "Accept")
	return resp, nil
}

// renderedPackument returns the served document and its HTTP ETag, from
// the cache when the stored document has not changed.
func (h *Handler) renderedPackument(ctx context.Context, name, base string, abbreviated bool) ([]byte, string, error) {
	st, err := h.deps.Storage.Stat(ctx, packumentKey(name))
	if err != nil {
		return nil, "", notFound(err, name)
	}
	ck := cacheKey{name: name, base: base, abbreviated: abbreviated}
	if b, ok := h.cache.get(ck, st.ETag); ok {
		return b, httpETag(st.ETag, ck), nil
	}
	doc, storageETag, err := h.packumentAt(ctx, name, st.ETag)
	if err != nil {
		return nil, "", err
	}
	if doc.Len() == 0 {
		return nil, "", errorf(core.ErrNotFound, "package %s not found", name)
	}
	b, err := renderPackument(doc, base, abbreviated)
	if err != nil {
		return nil, "", err
	}
	h.cache.put(cacheKey{name: name, base: base, abbreviated: abbreviated}, storageETag, b, nil)
	return b, httpETag(storageETag, ck), nil
}

// packumentAt returns the decoded document of name, from the cache when
// it holds the version with ETag etag, else read from storage (and
// cached).
func (h *Handler) packumentAt(ctx context.Context, name, etag string) (*storedPackument, string, error) {
	if d, ok := h.cache.doc(name, etag); ok {
		return d, etag, nil
	}
	doc, info, err := core.GetEntryDoc[packageHead](ctx, h.deps.Storage, packumentKey(name))
	if err != nil {
		return nil, "", notFound(err, name)
	}
	d := &storedPackument{EntryDoc: doc, size: info.Size}
	d.init(name, d.Head.Created)
	h.cache.putDoc(name, info.ETag, d)
	return d, info.ETag, nil
}

// loadPackument reads a package's stored document. A package without
// versions (never published, or unpublished) is not found.
func (h *Handler) loadPackument(ctx context.Context, name string) (*storedPackument, string, error) {
	st, err := h.deps.Storage.Stat(ctx, packumentKey(name))
	if err != nil {
		return nil, "", notFound(err, name)
	}
	doc, etag, err := h.packumentAt(ctx, name, st.ETag)
	if err != nil {
		return nil, "", err
	}
	if doc.Len() == 0 {
		return nil, "", errorf(core.ErrNotFound, "package %s not found", name)
	}
	return doc, etag, nil
}

// notFound gives a missing package npm's "not found" message.
func notFound(err error, name string) error {
	if errors.Is(err, core.ErrNotFound) {
		return errorf(core.ErrNotFound, "package %s not found", name)
	}
	return err
}

// getVersion serves GET /<pkg>/<version|dist-tag>: one version's manifest.
func (h *Handler) getVersion(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	name, ref := p["pkg"], p["version"]
	if _, err := h.authorize(ctx, req, name, core.ActionRead); err != nil {
		return nil, err
	}
	doc, _, err := h.loadPackument(ctx, name)
	if h.proxied(err) {
		return h.upstreamVersion(ctx, req, name, ref)
	}
	if err != nil {
		return nil, err
	}
	version := ref
	if v, ok := doc.Head.DistTags[ref]; ok {
		version = v
	}
	e, ok := doc.version(version)
	if !ok && h.merging() && !doc.unpublished(version) {
		return h.upstreamVersion(ctx, req, name, ref)
	}
	if !ok {
		return nil, errorf(core.ErrNotFound, "version %s of %s not found", ref, name)
	}
	return core.BytesResponse(http.StatusOK, "application/json", withBase(e.Full, req.BaseURL)), nil
}

// getTarball serves GET /<pkg>/-/<file>.tgz, streamed from storage. Only a
// tarball the package's document lists is served: the document names its
// key. A cached document that lists the version is trusted without a
// stat, since a key is never reused: a version unpublished since has lost
// its tarball too.
func (h *Handler) getTarball(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	name, file := p["pkg"], p["file"]
	version, err := fileVersion(name, file)
	if err != nil {
		return nil, err
	}
	if _, err := h.authorize(ctx, req, name, core.ActionRead); err != nil {
		return nil, err
	}
	missing := errorf(core.ErrNotFound, "tarball %s of %s not found", file, name)
	if d, ok := h.cache.anyDoc(name); ok {
		if e, ok := d.version(version); ok {
			rc, info, err := h.deps.Storage.Get(ctx, tarballKey(name, e.Tarball), nil)
			if err == nil {
				return core.StreamResponse(http.StatusOK, "application/octet-stream", rc, info.Size), nil
			}
			if !errors.Is(err, core.ErrNotFound) {
				return nil, err
			}
		}
	}
	doc, _, err := h.loadPackument(ctx, name)
	if h.proxied(err) {
		return h.upstreamTarball(ctx, req, name, file, version)
	}
	if errors.Is(err, core.ErrNotFound) {
		return nil, missing
	}
	if err != nil {
		return nil, err
	}
	e, ok := doc.version(version)
	if !ok && h.merging() && !doc.unpublished(version) {
		return h.upstreamTarball(ctx, req, name, file, version)
	}
	if !ok {
		return nil, missing
	}
	rc, info, err := h.deps.Storage.Get(ctx, tarballKey(name, e.Tarball), nil)
	if errors.Is(err, core.ErrNotFound) {
		return nil, missing
	}
	if err != nil {
		return nil, err
	}
	return core.StreamResponse(http.StatusOK, "application/octet-stream", rc, info.Size), nil
}

// fileVersion returns the version a tarball file name of the package
// names: "<basename>-<version>.tgz".
func fileVersion(name, file string) (string, error) {
	base := name[strings.LastIndexByte(name, '/')+1:]
	v, ok := strings.CutPrefix(file, base+"-")
	if ok {
		v, ok = strings.CutSuffix(v, ".tgz")
	}
	if !ok || !validVersion(v) {
		return "", errorf(core.ErrNotFound, "tarball %s of %s not found", file, name)
	}
	return v, nil
}

// etagMatches reports whether an If-None-Match header lists etag.
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	for c := range strings.SplitSeq(header, ",") {
		c = strings.TrimPrefix(strings.TrimSpace(c), "W/")
		if c == "*" || c == etag {
			return true
		}
	}
	return false
}

// httpETag derives the served document's ETag from the stored one and the
// rendering (form and base URL).
func httpETag(storageETag string, k cacheKey) string {
	f := fnv.New64a()
	f.Write([]byte(storageETag))
	f.Write([]byte{0})
	f.Write([]byte(k.base))
	if k.abbreviated {
		f.Write([]byte{1})
	}
	return `"` + strconv.FormatUint(f.Sum64(), 16) + `"`
}

// cacheKey names one rendering of a package's document, or (parsed) the
// decoded document itself.
type cacheKey struct {
	name        string
	base        string
	abbreviated bool
	parsed      bool
}

// packumentCache keeps rendered and decoded documents, each valid for one
// stored ETag, within a byte budget. When full, arbitrary entries are
// dropped.
type packumentCache struct {
	mu      sync.Mutex
	max     int64
	size    int64
	entries map[cacheKey]cacheEntry
}

type cacheEntry struct {
	etag string
	body []byte
	doc  *storedPackument
	size int64
}

func newPackumentCache(max int64) *packumentCache {
	return &packumentCache{max: max, entries: map[cacheKey]cacheEntry{}}
}

func (c *packumentCache) get(k cacheKey, etag string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || e.etag != etag {
		return nil, false
	}
	return e.body, true
}

// doc returns the decoded document of name with ETag etag.
func (c *packumentCache) doc(name, etag string) (*storedPackument, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[cacheKey{name: name, parsed: true}]
	if !ok || e.etag != etag {
		return nil, false
	}
	return e.doc, true
}

// anyDoc returns the latest decoded document of name the cache holds,
// whatever its ETag.
func (c *packumentCache) anyDoc(name string) (*storedPackument, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[cacheKey{name: name, parsed: true}]
	return e.doc, ok
}

// putDoc caches a decoded document.
func (c *packumentCache) putDoc(name, etag string, d *storedPackument) {
	c.put(cacheKey{name: name, parsed: true}, etag, nil, d)
}

func (c *packumentCache) put(k cacheKey, etag string, body []byte, d *storedPackument) {
	size := int64(len(body))
	if d != nil {
		size = d.size
	}
	if etag == "" || size > c.max/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.entries[k]; ok {
		c.size -= old.size
	}
	for k2, e := range c.entries {
		if c.size+size <= c.max {
			break
		}
		if k2 != k {
			delete(c.entries, k2)
			c.size -= e.size
		}
	}
	c.entries[k] = cacheEntry{etag: etag, body: body, doc: d, size: size}
	c.size += size
}
