package composer

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/upstream"
)

// Proxying. A package this registry does not hold is fetched from the
// upstreams core.Deps.Upstream names for it (scope rules included). Each
// upstream URL is a Composer repository URL, the one a composer client
// would be given; its packages.json is read (cached with the TTL) for its
// metadata-url, so Packagist's shape works as well as another
// smartregistry's, with "/p2/%package%.json" below the URL when it names
// none. The /p2/ files of the package (tagged and ~dev) are cached with
// the TTL of Config.Upstream as the upstream sent them, and served with
// every dist.url pointing back at this registry (dist.reference and
// dist.shasum untouched); a dist zip is fetched when first asked for,
// streamed to the client while it is checked against dist.shasum (sha1,
// when the upstream gives one), and cached for good. A package held
// locally shadows the upstream one entirely, unless Config.Upstream.Merge
// adds the upstream's versions it lacks (merge.go). A proxied /p2/ file
// carries an ETag and a Last-Modified (upstream.Document.Modified: the
// upstream's, else when its content was first fetched) and answers
// If-None-Match and If-Modified-Since with 304 as local files do.
// list.json and search.json list the packages held here only, not those
// fetched: the cache holds whatever someone happened to ask for (and
// remembers names no upstream has), so listing it would make the answer
// depend on past requests without making it the upstream's list; the
// upstream's own list and search are where its packages are found. Reading (the read scope) is
// all a fetch needs, unless Config.Upstream.NewNamesNeedWrite asks for
// write before a name is first fetched.

// Upstream returns the client that fetches from the upstreams, or nil when
// none are configured; its Breakers report their circuit breakers.
func (h *Handler) Upstream() *upstream.Client { return h.up }

// proxied reports whether a local miss (err) may be asked upstream.
func (h *Handler) proxied(err error) bool {
	return h.up != nil && errors.Is(err, core.ErrNotFound)
}

// upstreamFile serves a /p2/ file of a package held upstream, with an
// ETag and a Last-Modified (the upstream's, else when the cached content
// was first fetched), answering If-None-Match and If-Modified-Since with
// 304 like local files.
func (h *Handler) upstreamFile(ctx context.Context, req *core.RequestContext, name string, dev bool) (*core.Response, error) {
	d, err := h.upstreamDoc(ctx, req, name, dev)
	if err != nil {
		return nil, err
	}
	body, etag, err := d.rendered(req.BaseURL)
	if err != nil {
		return nil, err
	}
	return fileResponse(req, body, etag, d.modified), nil
}

// upstreamDoc returns the upstream /p2/ file of name (~dev when dev),
// parsed (cached by the document's digest).
func (h *Handler) upstreamDoc(ctx context.Context, req *core.RequestContext, name string, dev bool) (*proxyFile, error) {
	ctx = core.WithObject(ctx, core.ObjectRef{Package: name})
	key := upstreamFileKey(name, dev)
	if h.cfg.Upstream.NewNamesNeedWrite {
		if _, err := h.deps.Storage.Stat(core.WithKind(ctx, core.KindMetadata), key); errors.Is(err, core.ErrNotFound) {
			if _, err := h.authorize(ctx, req, name, core.ActionWrite); err != nil {
				return nil, err
			}
		}
	}
	doc, err := h.up.Metadata(ctx, upstream.MetadataRequest{
		Name: name, Key: key, Path: h.metadataPath(ctx, name, dev),
		Check: func(body []byte, _ core.Upstream) ([]byte, error) {
			_, err := parseProxyFile(name, body)
			return body, err
		},
	})
	if errors.Is(err, core.ErrNotFound) {
		return nil, fmt.Errorf("%w: package %s", core.ErrNotFound, name)
	}
	if err != nil {
		return nil, err
	}
	ck := name
	if dev {
		ck += "~dev"
	}
	if d, ok := h.proxies.Get(ck, doc.Sum); ok {
		return d, nil
	}
	d, err := parseProxyFile(name, doc.Body)
	if err != nil {
		return nil, fmt.Errorf("%w: upstream %s: %w", core.ErrUnavailable, name, err)
	}
	d.sum, d.from, d.modified = doc.Sum, doc.Upstream, doc.Modified
	h.proxies.Put(ck, doc.Sum, d)
	return d, nil
}

// metadataPath returns where the upstreams of name keep its /p2/ file:
// the metadata-url of the packages.json of the first upstream that
// answers, resolved against it (an absolute URL, asked of that upstream);
// "/p2/<name>.json" below each upstream's URL when none names one. The
// metadata-url of a set of upstreams is remembered for the metadata TTL.
func (h *Handler) metadataPath(ctx context.Context, name string, dev bool) string {
	pkg := name
	if dev {
		pkg += "~dev"
	}
	fallback := "/p2/" + pkg + ".json"
	ups := h.up.Upstreams(ctx, name)
	if len(ups) == 0 {
		return fallback
	}
	var set strings.Builder
	for _, u := range ups {
		set.WriteString(u.URL)
		set.WriteByte('\n')
	}
	tmpl, ok := h.roots.get(set.String(), time.Now())
	if !ok {
		tmpl = h.metadataURL(ctx, name, ups, set.String())
		h.roots.put(set.String(), tmpl, time.Now().Add(h.up.Policy().MetadataTTL))
	}
	if tmpl == "" {
		return fallback
	}
	return strings.ReplaceAll(tmpl, "%package%", pkg)
}

// metadataURL returns the metadata-url of the packages.json of the first
// of ups that answers, as an absolute URL, or "" when none names one.
func (h *Handler) metadataURL(ctx context.Context, name string, ups []core.Upstream, set string) string {
	sum := sha256.Sum256([]byte(set))
	doc, err := h.up.Metadata(ctx, upstream.MetadataRequest{
		Name: name, Key: upstreamRootKey(hex.EncodeToString(sum[:16])), Path: "/packages.json",
		Check: func(body []byte, _ core.Upstream) ([]byte, error) {
			var root map[string]json.RawMessage
			if err := json.Unmarshal(body, &root); err != nil {
				return nil, fmt.Errorf("upstream packages.json: %w", err)
			}
			return body, nil
		},
	})
	if err != nil {
		return ""
	}
	var root struct {
		MetadataURL string `json:"metadata-url"`
	}
	if json.Unmarshal(doc.Body, &root) != nil || !strings.Contains(root.MetadataURL, "%package%") {
		return ""
	}
	var from core.Upstream
	for _, u := range ups {
		if u.Name == doc.Upstream {
			from = u
		}
	}
	base, err := url.Parse(strings.TrimSuffix(from.URL, "/") + "/packages.json")
	if err != nil || from.URL == "" {
		return ""
	}
	// %package% is kept through parsing as a placeholder without percent.
	ref, err := url.Parse(strings.ReplaceAll(root.MetadataURL, "%package%", "PACKAGE-PLACEHOLDER"))
	if err != nil {
		return ""
	}
	abs := base.ResolveReference(ref)
	abs.User = nil
	if abs.Scheme != "http" && abs.Scheme != "https" {
		return ""
	}
	return strings.ReplaceAll(abs.String(), "PACKAGE-PLACEHOLDER", "%package%")
}

// rootCache remembers the metadata-url of each set of upstreams until a
// deadline.
type rootCache struct {
	mu      sync.Mutex
	entries map[string]rootEntry
}

type rootEntry struct {
	tmpl  string
	until time.Time
}

func (c *rootCache) get(set string, now time.Time) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[set]
	if !ok || now.After(e.until) {
		return "", false
	}
	return e.tmpl, true
}

func (c *rootCache) put(set, tmpl string, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= 64 {
		c.entries = map[string]rootEntry{}
	}
	c.entries[set] = rootEntry{tmpl: tmpl, until: until}
}

// upstreamDist serves GET /dists/<vendor>/<package>/<token>.zip for a
// package held upstream: from the cache, else fetched from the dist.url
// the upstream's /p2/ file gives and verified against its dist.shasum.
// local, when not nil, is the rendering of the local package the upstream
// versions are merged into: a version it has is not fetched.
func (h *Handler) upstreamDist(ctx context.Context, req *core.RequestContext, name, token string, local *rendered) (*core.Response, error) {
	ctx = core.WithObject(ctx, core.ObjectRef{Package: name})
	key := upstreamDistKey(name, token)
	serve := func(resp *core.Response) *core.Response {
		resp.Header.Set("Cache-Control", "private, max-age=31536000, immutable")
		return resp
	}
	if rc, info, err := h.deps.Storage.Get(core.WithKind(ctx, core.KindArtifact), key, nil); err == nil {
		return serve(core.StreamResponse(http.StatusOK, "application/zip", rc, info.Size)), nil
	}
	var (
		d    *proxyFile
		dist proxyDist
		ok   bool
		err  error
	)
	for _, dev := range []bool{false, true} {
		if d, err = h.upstreamDoc(ctx, req, name, dev); err != nil {
			if errors.Is(err, core.ErrNotFound) {
				continue
			}
			return nil, err
		}
		if dist, ok = d.dist(token); ok {
			break
		}
	}
	if ok && local != nil {
		_, shadowed := local.versions[dist.Normalized]
		ok = !shadowed
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s has no dist %s", core.ErrNotFound, name, token)
	}
	ctx = core.WithObject(ctx, core.ObjectRef{Package: name, Version: dist.Version})
	var digests []upstream.Digest
	if dist.Shasum != "" {
		sum, err := upstream.HexDigest("sha1", dist.Shasum)
		if err != nil {
			return nil, fmt.Errorf("%w: upstream %s %s: %w", core.ErrUnavailable, name, dist.Version, err)
		}
		digests = append(digests, sum)
	}
	a, err := h.up.Artifact(ctx, upstream.ArtifactRequest{Name: name, Key: key, Path: dist.URL, From: d.from,
		StagePrefix: uploadsPrefix, Digests: digests, ContentType: "application/zip"})
	if err != nil {
		return nil, err
	}
	return serve(core.StreamResponse(http.StatusOK, a.ContentType, a.Body, a.Size)), nil
}

// proxyFile is an upstream /p2/ file, parsed as far as serving it needs:
// its top-level fields and the (minified) version entries of the package.
type proxyFile struct {
	sum, from string
	// modified is when the file last changed (upstream.Document.Modified).
	modified time.Time
	name     string
	key      string // the key of the package in "packages", as sent
	top      map[string]json.RawMessage
	entries  []map[string]json.RawMessage
	size     int64

	mu      sync.Mutex
	renders map[string]rendering
	dists   map[string]proxyDist
}

// rendering is a served form of a proxied file, with its HTTP ETag.
type rendering struct {
	body []byte
	etag string
}

// proxyDist is what a zip fetch needs from a version's dist.
type proxyDist struct {
	Version    string
	Normalized string
	URL        string
	Shasum     string
}

// parseProxyFile parses an upstream /p2/ file of name.
func parseProxyFile(name string, body []byte) (*proxyFile, error) {
	d := &proxyFile{name: name, size: int64(len(body)), renders: map[string]rendering{}}
	if err := json.Unmarshal(body, &d.top); err != nil {
		return nil, fmt.Errorf("upstream metadata of %s: %w", name, err)
	}
	var pkgs map[string]json.RawMessage
	if err := json.Unmarshal(d.top["packages"], &pkgs); err != nil || pkgs == nil {
		return nil, fmt.Errorf("upstream metadata of %s: no packages", name)
	}
	for k := range pkgs {
		if strings.EqualFold(k, name) {
			d.key = k
		}
	}
	if d.key == "" {
		return nil, fmt.Errorf("upstream metadata of %s does not list it", name)
	}
	if err := json.Unmarshal(pkgs[d.key], &d.entries); err != nil {
		return nil, fmt.Errorf("upstream metadata of %s: %w", name, err)
	}
	return d, nil
}

// safeToken is a dist reference usable as it is in a URL path segment.
var safeToken = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// distToken names the zip of a dist in the URL served for it: its
// reference, else the sha1 of its upstream URL.
func distToken(reference, rawURL string) string {
	if safeToken.MatchString(reference) && reference != "." && reference != ".." {
		return reference
	}
	s := sha1.Sum([]byte(rawURL))
	return hex.EncodeToString(s[:])
}

// walk calls fn with each entry's index and its dist (inherited from the
// entry before when minified away), as parsed; no dist is a nil map.
func (d *proxyFile) walk(fn func(i int, dist map[string]json.RawMessage)) {
	var cur map[string]json.RawMessage
	for i, e := range d.entries {
		if raw, ok := e["dist"]; ok {
			cur = nil
			_ = json.Unmarshal(raw, &cur)
		}
		fn(i, cur)
	}
}

// dist returns the dist the token names.
func (d *proxyFile) dist(token string) (proxyDist, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dists == nil {
		d.dists = map[string]proxyDist{}
		var version, normalized string
		d.walk(func(i int, dist map[string]json.RawMessage) {
			if raw, ok := d.entries[i]["version"]; ok {
				_ = json.Unmarshal(raw, &version)
				normalized, _ = NormalizeVersion(version)
			}
			if raw, ok := d.entries[i]["version_normalized"]; ok {
				_ = json.Unmarshal(raw, &normalized)
			}
			var u, ref, sum string
			_ = json.Unmarshal(dist["url"], &u)
			_ = json.Unmarshal(dist["reference"], &ref)
			_ = json.Unmarshal(dist["shasum"], &sum)
			if u == "" {
				return
			}
			t := distToken(ref, u)
			if _, ok := d.dists[t]; !ok {
				d.dists[t] = proxyDist{Version: version, Normalized: normalized, URL: u, Shasum: sum}
			}
		})
	}
	pd, ok := d.dists[token]
	return pd, ok
}

// rendered returns the file as served at base, and its ETag: every
// dist.url pointing here.
func (d *proxyFile) rendered(base string) ([]byte, string, error) {
	d.mu.Lock()
	r, ok := d.renders[base]
	d.mu.Unlock()
	if ok {
		return r.body, r.etag, nil
	}
	out := make([]map[string]json.RawMessage, len(d.entries))
	d.walk(func(i int, dist map[string]json.RawMessage) {
		e := d.entries[i]
		if _, own := e["dist"]; !own || dist == nil {
			out[i] = e
			return
		}
		ne := maps.Clone(e)
		ne["dist"] = d.proxyDistValue(base, e["dist"])
		out[i] = ne
	})
	top := make(map[string]json.RawMessage, len(d.top))
	for k, v := range d.top {
		top[k] = v
	}
	list, err := json.Marshal(out)
	if err != nil {
		return nil, "", err
	}
	top["packages"], err = json.Marshal(map[string]json.RawMessage{d.key: list})
	if err != nil {
		return nil, "", err
	}
	if r.body, err = json.Marshal(top); err != nil {
		return nil, "", err
	}
	r.etag = renderingETag(d.sum, base)
	d.keep(base, r)
	return r.body, r.etag, nil
}
