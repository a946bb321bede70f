package upstream

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

// MetadataRequest names a mutable document to get through the cache.
type MetadataRequest struct {
	// Name is the package the document belongs to, for the provider's
	// scope rules.
	Name string
	// Key is the storage key of the cached copy.
	Key string
	// Path is the document's path below each upstream's URL, starting with
	// "/" and percent-encoded.
	Path string
	// Header is added to the upstream request (Accept, for instance).
	Header http.Header
	// Upstream, when set, names the one upstream (of [Client.All]) to
	// ask, for a document of the upstream's own rather than of a package
	// (an index of all its packages); Name then only labels it.
	Upstream string
	// Check, when set, validates an upstream's body before it is cached,
	// and may return it rewritten (for instance in a normalised form). An
	// error keeps the body out of the cache and fails the request like an
	// unavailable upstream (a stale copy is served).
	Check func(body []byte, from core.Upstream) ([]byte, error)
}

// Document is a cached metadata document. It is shared between callers:
// read only.
type Document struct {
	// Body is the document as stored (after MetadataRequest.Check).
	Body []byte
	// ContentType is the upstream's Content-Type.
	ContentType string
	// Upstream names the upstream it came from.
	Upstream string
	// Fetched is when it was fetched or last revalidated.
	Fetched time.Time
	// Modified is when the document last changed, a validator for
	// If-Modified-Since: the upstream's Last-Modified when it sent one,
	// else when this content was first fetched. A revalidation that finds
	// the content unchanged keeps it; new content always moves it forward
	// (to the fetch time when the upstream's Last-Modified is not later,
	// as after a switch to another upstream), so that a client holding
	// the old content never gets a 304.
	Modified time.Time
	// Sum is the hex SHA-256 of Body: a validator for the client (an
	// HTTP ETag) and a key for caches of renderings.
	Sum string
	// Stale is set when the document is past its TTL and is served because
	// no upstream answered (or while it is revalidated in the background).
	Stale bool
}

// envelope is the first line of a cached document in storage.
type envelope struct {
	Fetched     time.Time `json:"fetched"`
	Status      int       `json:"status"`
	Upstream    string    `json:"upstream,omitempty"`
	ETag        string    `json:"etag,omitempty"`
	ContentType string    `json:"contentType,omitempty"`
	Sum         string    `json:"sum,omitempty"`
	// Modified is Document.Modified; zero in copies cached before it
	// existed, which read it as Fetched.
	Modified time.Time `json:"modified,omitzero"`
}

// modified is Document.Modified of the copy.
func (e envelope) modified() time.Time {
	if e.Modified.IsZero() {
		return e.Fetched
	}
	return e.Modified
}

// cached is a decoded cached document: a copy (Status 200) or a
// remembered 404.
type cached struct {
	env  envelope
	body []byte
	// storageETag is the ETag of the stored object it was read from.
	storageETag string
	// fresh is the Document served while d is fresh, built once.
	fresh *Document
}

func (d *cached) document(stale bool) *Document {
	if !stale && d.fresh != nil {
		return d.fresh
	}
	return &Document{Body: d.body, ContentType: d.env.ContentType, Upstream: d.env.Upstream, Fetched: d.env.Fetched,
		Modified: d.env.modified(), Sum: d.env.Sum, Stale: stale}
}

// ready builds the Document served while d is fresh; d is read only after.
func (d *cached) ready() *cached {
	d.fresh = d.document(false)
	return d
}

// fresh reports whether d may be served at now without asking upstream.
func (c *Client) fresh(d *cached, now time.Time) bool {
	if d.env.Status == http.StatusNotFound {
		return now.Before(d.env.Fetched.Add(c.policy.NegativeTTL))
	}
	return now.Before(d.env.Fetched.Add(c.policy.MetadataTTL))
}

// result is what serving d means: the document, or ErrNotFound.
func (d *cached) result(stale bool) (*Document, error) {
	if d.env.Status == http.StatusNotFound {
		return nil, fmt.Errorf("%w (cached)", ErrNotFound)
	}
	return d.document(stale), nil
}

// Metadata returns the document req names: the cached copy while it is
// fresh, else the upstreams' current one (revalidated with If-None-Match
// when the upstream gave an ETag), cached for Policy.MetadataTTL. A copy
// within Policy.StaleWhileRevalidate past its TTL is returned at once and
// revalidated in the background. When no upstream answers, a stale copy of
// any age is returned (Document.Stale); without one the error is
// [ErrUnavailable]. A 404 from every upstream is [ErrNotFound] and is
// remembered for Policy.NegativeTTL. Concurrent calls for one key ask the
// upstreams once.
func (c *Client) Metadata(ctx context.Context, req MetadataRequest) (*Document, error) {
	now := c.now()
	d := c.docs.get(req.Key)
	if d == nil || !c.fresh(d, now) {
		sd, err := c.load(ctx, req.Key, d)
		if err != nil && !errors.Is(err, core.ErrNotFound) {
			return nil, err
		}
		if sd != nil {
			d = sd
		}
	}
	if d != nil && c.fresh(d, now) {
		return d.result(false)
	}
	if d != nil && d.env.Status == http.StatusOK &&
		now.Before(d.env.Fetched.Add(c.policy.MetadataTTL+c.policy.StaleWhileRevalidate)) {
		c.revalidate(ctx, req, d)
		return d.result(true)
	}
	return c.refreshShared(ctx, req, d)
}

// load reads the cached copy at key from storage, unless mem (the copy in
// memory) is the stored version already.
func (c *Client) load(ctx context.Context, key string, mem *cached) (*cached, error) {
	ctx = core.WithKind(ctx, core.KindMetadata)
	if mem != nil {
		st, err := c.cfg.Storage.Stat(ctx, key)
		if err != nil {
			return nil, err
		}
		if st.ETag == mem.storageETag {
			return mem, nil
		}
	}
	rc, info, err := c.cfg.Storage.Get(ctx, key, nil)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	br := bufio.NewReader(io.LimitReader(rc, c.policy.MaxMetadataSize+64<<10))
	line, err := br.ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("read cached %s: %w", key, err)
	}
	d := &cached{storageETag: info.ETag}
	if err := json.Unmarshal(line, &d.env); err != nil {
		return nil, fmt.Errorf("decode cached %s: %w", key, err)
	}
	if d.body, err = io.ReadAll(br); err != nil {
		return nil, fmt.Errorf("read cached %s: %w", key, err)
	}
	d.ready()
	c.docs.put(key, d)
	return d, nil
}

// revalidate refreshes d in the background, once per key at a time.
func (c *Client) revalidate(ctx context.Context, req MetadataRequest, d *cached) {
	f, leader := c.flights.start("m:" + req.Key)
	if !leader {
		return
	}
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		doc, err := c.refresh(context.WithoutCancel(ctx), req, d)
		if err != nil && !errors.Is(err, core.ErrNotFound) {
			c.log.Warn("upstream: background revalidation failed", "key", req.Key, "error", err)
		}
		c.flights.finish("m:"+req.Key, f, doc, err)
	}()
}

// refreshShared refreshes the document, or waits for the refresh another
// caller of this process has started.
func (c *Client) refreshShared(ctx context.Context, req MetadataRequest, d *cached) (*Document, error) {
	key := "m:" + req.Key
	f, leader := c.flights.start(key)
	if leader {
		// A flight that ended just before this one started may have left a
		// fresh copy.
		if nd := c.docs.get(req.Key); nd != nil && nd != d && c.fresh(nd, c.now()) {
			c.flights.finish(key, f, nil, nil)
			return nd.result(false)
		}
		// The work goes on for the callers waiting on it if this one leaves.
		doc, err := c.refresh(context.WithoutCancel(ctx), req, d)
		c.flights.finish(key, f, doc, err)
		return doc, err
	}
	if err := f.wait(ctx); err != nil {
		return nil, err
	}
	if doc, _ := f.val.(*Document); doc != nil || f.err != nil {
		return doc, f.err
	}
	return c.Metadata(ctx, req)
}

// refresh asks the upstreams for the document and caches the answer. Under
// the key's lease: when another process holds it, it waits for that one to
// finish and takes its result when fresh.
func (c *Client) refresh(ctx context.Context, req MetadataRequest, d *cached) (*Document, error) {
	release, ok := c.acquire(ctx, req.Key)
	if !ok {
		c.waitLease(ctx, req.Key)
		release = func() {}
	}
	defer release()
	// Another process may have refreshed it meanwhile (and released its
	// lease just before this one took it).
	if nd, err := c.load(ctx, req.Key, d); err == nil && nd != d && c.fresh(nd, c.now()) {
		return nd.result(false)
	}
	header := req.Header.Clone()
	if d != nil && d.env.Status == http.StatusOK && d.env.ETag != "" {
		if header == nil {
			header = http.Header{}
		}
		header.Set("If-None-Match", d.env.ETag)
	}
	resp, err := c.fetchFor(ctx, req, header)
	switch {
	case errors.Is(err, ErrNotFound):
		if c.policy.NegativeTTL > 0 {
			c.store(ctx, req.Key, envelope{Fetched: c.now(), Status: http.StatusNotFound}, nil)
		}
		return nil, err
	case err != nil:
		return c.stale(d, err)
	}
	defer resp.Body.Close()
	env := envelope{Fetched: c.now(), Status: http.StatusOK, Upstream: resp.Upstream.Name,
		ETag: resp.Header.Get("ETag"), ContentType: resp.Header.Get("Content-Type")}
	var body []byte
	if resp.Status == http.StatusNotModified && d != nil && d.env.Status == http.StatusOK {
		body = d.body
		env.ContentType = d.env.ContentType
		if env.ETag == "" {
			env.ETag = d.env.ETag
		}
	} else {
		if body, err = c.readBody(resp); err != nil {
			return c.stale(d, err)
		}
		if req.Check != nil {
			if body, err = req.Check(body, resp.Upstream); err != nil {
				return c.stale(d, fmt.Errorf("upstream %s: %w", resp.Upstream.Name, err))
			}
		}
	}
	sum := sha256.Sum256(body)
	env.Sum = hex.EncodeToString(sum[:])
	env.Modified = env.Fetched
	prev := d != nil && d.env.Status == http.StatusOK
	if lm, err := http.ParseTime(resp.Header.Get("Last-Modified")); prev && d.env.Sum == env.Sum {
		env.Modified = d.env.modified()
	} else if err == nil && (!prev || lm.After(d.env.modified())) {
		env.Modified = lm.UTC()
	}
	nd := c.store(ctx, req.Key, env, body)
	return nd.result(false)
}

// readBody reads a metadata document, at most Policy.MaxMetadataSize bytes.
func (c *Client) readBody(resp *Response) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.policy.MaxMetadataSize+1))
	if err != nil {
		return nil, fmt.Errorf("upstream %s: read: %w", resp.Upstream.Name, err)
	}
	if int64(len(body)) > c.policy.MaxMetadataSize {
		return nil, fmt.Errorf("upstream %s: document over %d bytes", resp.Upstream.Name, c.policy.MaxMetadataSize)
	}
	return body, nil
}

// stale answers a failed refresh: the stale copy when there is one, else
// ErrUnavailable.
func (c *Client) stale(d *cached, err error) (*Document, error) {
	if d != nil && d.env.Status == http.StatusOK {
		c.log.Warn("upstream: serving a stale copy", "upstream", d.env.Upstream, "error", err)
		return d.result(true)
	}
	if errors.Is(err, ErrUnavailable) {
		return nil, err
	}
	return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// store writes a cached document and keeps it in memory. A failed write
// is logged: the document is still served from memory.
func (c *Client) store(ctx context.Context, key string, env envelope, body []byte) *cached {
	line, _ := json.Marshal(env)
	var buf bytes.Buffer
	buf.Grow(len(line) + 1 + len(body))
	buf.Write(line)
	buf.WriteByte('\n')
	buf.Write(body)
	d := (&cached{env: env, body: body}).ready()
	info, err := c.cfg.Storage.Put(core.WithKind(ctx, core.KindMetadata), key, bytes.NewReader(buf.Bytes()),
		int64(buf.Len()), core.PutOptions{ContentType: "application/octet-stream"})
	if err != nil {
		c.log.Warn("upstream: caching a document failed", "key", key, "error", err)
		return d
	}
	d.storageETag = info.ETag
	c.docs.put(key, d)
	return d
}

// docCache keeps decoded documents in memory within a byte budget; when
// full, arbitrary entries are dropped.
type docCache struct {
	mu      sync.Mutex
	max     int64
	size    int64
	entries map[string]*cached
}

func newDocCache(max int64) *docCache { return &docCache{max: max, entries: map[string]*cached{}} }

func (c *docCache) get(key string) *cached {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entries[key]
}

func (c *docCache) put(key string, d *cached) {
	size := int64(len(d.body) + len(key) + 256)
	if size > c.max/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.entries[key]; ok {
		c.size -= int64(len(old.body) + len(key) + 256)
	}
	for k, e := range c.entries {
		if c.size+size <= c.max {
			break
		}
		delete(c.entries, k)
		c.size -= int64(len(e.body) + len(k) + 256)
	}
	c.entries[key] = d
	c.size += size
}
