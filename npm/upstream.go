package npm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/upstream"
)

// Proxying. A package this registry does not hold is fetched from the
// upstreams Deps.Upstream names for it (scope rules included): its
// packument is cached with the TTL of Config.Upstream as the upstream sent
// it, and served with every dist.tarball pointing back at this registry
// (integrity and shasum untouched); a tarball is fetched when first asked
// for, streamed to the client while it is checked against the packument's
// dist.integrity and dist.shasum, and cached for good. A package held
// locally shadows the upstream one entirely, unless Config.Upstream.Merge
// is set: then its packument also lists the upstream versions it lacks
// (see mergePackuments). Reading (the read scope) is all a fetch needs, unless
// Config.Upstream.NewNamesNeedWrite asks for write before a name is first
// fetched.

// Upstream returns the client that fetches from the upstreams, or nil when
// none are configured; its Breakers report their circuit breakers.
func (h *Handler) Upstream() *upstream.Client { return h.up }

// merging reports whether local packages show their upstream versions too.
func (h *Handler) merging() bool { return h.up != nil && h.cfg.Upstream.Merge }

// mergedPackument returns the local packument (body, etag) with the
// versions and dist-tags of the upstream one added where the local one has
// none. Without an upstream document (none has the package, or none
// answers and nothing is cached) it is the local one unchanged.
func (h *Handler) mergedPackument(ctx context.Context, req *core.RequestContext, name string, local []byte,
	etag string, abbreviated bool) ([]byte, string) {
	d, err := h.upstreamDoc(ctx, req, name)
	if err != nil {
		if !errors.Is(err, core.ErrNotFound) {
			h.log.Warn("npm: upstream versions left out", "package", name, "error", err)
		}
		return local, etag
	}
	k := cacheKey{name: "merge " + etag, base: req.BaseURL, abbreviated: abbreviated}
	d.mu.Lock()
	r, ok := d.renders[k]
	d.mu.Unlock()
	if ok {
		return r.body, r.etag
	}
	up, _, err := d.rendered(req.BaseURL, abbreviated)
	if err != nil {
		return local, etag
	}
	merged, err := mergePackuments(local, up)
	if err != nil {
		h.log.Warn("npm: upstream versions left out", "package", name, "error", err)
		return local, etag
	}
	r = rendering{body: merged, etag: httpETag("merge "+etag+" "+d.sum, k)}
	d.keep(k, r)
	return r.body, r.etag
}

// mergePackuments adds to the local packument the versions, times and
// dist-tags of the upstream one that it lacks.
func mergePackuments(local, up []byte) ([]byte, error) {
	var l, u map[string]json.RawMessage
	if err := json.Unmarshal(local, &l); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(up, &u); err != nil {
		return nil, err
	}
	for _, f := range []string{"versions", "time", "dist-tags"} {
		if _, ok := u[f]; !ok {
			continue
		}
		var lm, um map[string]json.RawMessage
		_ = json.Unmarshal(l[f], &lm)
		if err := json.Unmarshal(u[f], &um); err != nil {
			return nil, fmt.Errorf("upstream %s: %w", f, err)
		}
		if lm == nil {
			lm = map[string]json.RawMessage{}
		}
		for k, v := range um {
			if _, ok := lm[k]; !ok && k != "created" && k != "modified" {
				lm[k] = v
			}
		}
		b, err := json.Marshal(lm)
		if err != nil {
			return nil, err
		}
		l[f] = b
	}
	return json.Marshal(l)
}

// proxied reports whether a local miss of name may be asked upstream.
func (h *Handler) proxied(err error) bool {
	return h.up != nil && errors.Is(err, core.ErrNotFound)
}

// acceptJSON asks an upstream for the full packument (read only).
var acceptJSON = http.Header{"Accept": {"application/json"}}

// upstreamDoc returns the upstream packument of name, parsed (cached by
// the document's digest).
func (h *Handler) upstreamDoc(ctx context.Context, req *core.RequestContext, name string) (*proxyDoc, error) {
	if h.cfg.Upstream.NewNamesNeedWrite {
		if _, err := h.deps.Storage.Stat(ctx, upstreamPackumentKey(name)); errors.Is(err, core.ErrNotFound) {
			if _, err := h.authorize(ctx, req, name, core.ActionWrite); err != nil {
				return nil, err
			}
		}
	}
	doc, err := h.up.Metadata(core.WithObject(ctx, core.ObjectRef{Package: name}), upstream.MetadataRequest{
		Name: name, Key: upstreamPackumentKey(name), Path: "/" + escapeName(name),
		Header: acceptJSON,
		Check: func(body []byte, _ core.Upstream) ([]byte, error) {
			_, err := parseProxyDoc(name, body)
			return body, err
		},
	})
	if errors.Is(err, core.ErrNotFound) {
		return nil, errorf(core.ErrNotFound, "package %s not found", name)
	}
	if err != nil {
		return nil, err
	}
	if d, ok := h.proxies.Get(name, doc.Sum); ok {
		return d, nil
	}
	d, err := parseProxyDoc(name, doc.Body)
	if err != nil {
		return nil, err
	}
	d.sum, d.from = doc.Sum, doc.Upstream
	h.proxies.Put(name, doc.Sum, d)
	return d, nil
}

// upstreamPackument serves GET /<pkg> for a package held upstream.
func (h *Handler) upstreamPackument(ctx context.Context, req *core.RequestContext, name string, abbreviated bool) (*core.Response, error) {
	d, err := h.upstreamDoc(ctx, req, name)
	if err != nil {
		return nil, err
	}
	body, etag, err := d.rendered(req.BaseURL, abbreviated)
	if err != nil {
		return nil, err
	}
	if etagMatches(req.Header.Get("If-None-Match"), etag) {
		resp := core.NewResponse(http.StatusNotModified)
		resp.Header.Set("ETag", etag)
		resp.Header.Set("Vary", "Accept")
		return resp, nil
	}
	ctype := "application/json"
	if abbreviated {
		ctype = abbreviatedType
	}
	resp := core.BytesResponse(http.StatusOK, ctype, body)
	resp.Header.Set("ETag", etag)
	resp.Header.Set("Vary", "Accept")
	return resp, nil
}

// upstreamVersion serves GET /<pkg>/<version|tag> for a package held
// upstream.
func (h *Handler) upstreamVersion(ctx context.Context, req *core.RequestContext, name, ref string) (*core.Response, error) {
	d, err := h.upstreamDoc(ctx, req, name)
	if err != nil {
		return nil, err
	}
	version := ref
	if v, ok := d.distTags[ref]; ok {
		version = v
	}
	raw, ok := d.versions[version]
	if !ok {
		return nil, errorf(core.ErrNotFound, "version %s of %s not found", ref, name)
	}
	m, err := proxyManifest(name, version, raw, req.BaseURL, false)
	if err != nil {
		return nil, err
	}
	return core.BytesResponse(http.StatusOK, "application/json", m), nil
}

// upstreamTarball serves GET /<pkg>/-/<file> for a package held upstream:
// from the cache, else fetched and verified.
func (h *Handler) upstreamTarball(ctx context.Context, req *core.RequestContext, name, file, version string) (*core.Response, error) {
	ctx = core.WithObject(ctx, core.ObjectRef{Package: name, Version: version})
	key := upstreamTarballKey(name, file)
	if rc, info, err := h.deps.Storage.Get(core.WithKind(ctx, core.KindArtifact), key, nil); err == nil {
		return core.StreamResponse(http.StatusOK, "application/octet-stream", rc, info.Size), nil
	}
	d, err := h.upstreamDoc(ctx, req, name)
	if err != nil {
		return nil, err
	}
	dist, ok := d.dist(version)
	if !ok {
		return nil, errorf(core.ErrNotFound, "tarball %s of %s not found", file, name)
	}
	var digests []upstream.Digest
	if dist.Integrity != "" {
		if digests, err = upstream.ParseIntegrity(dist.Integrity); err != nil {
			return nil, fmt.Errorf("%w: upstream %s@%s: %w", core.ErrUnavailable, name, version, err)
		}
	}
	if dist.Shasum != "" {
		sha1, err := upstream.HexDigest("sha1", dist.Shasum)
		if err != nil {
			return nil, fmt.Errorf("%w: upstream %s@%s: %w", core.ErrUnavailable, name, version, err)
		}
		digests = append(digests, sha1)
	}
	path := dist.Tarball
	if path == "" {
		path = "/" + escapeName(name) + "/-/" + file
	}
	a, err := h.up.Artifact(ctx, upstream.ArtifactRequest{Name: name, Key: key, Path: path, From: d.from,
		StagePrefix: uploadsPrefix, Digests: digests})
	if err != nil {
		return nil, err
	}
	return core.StreamResponse(http.StatusOK, a.ContentType, a.Body, a.Size), nil
}

// proxyDoc is an upstream packument, parsed as far as serving it needs.
type proxyDoc struct {
	sum      string
	from     string
	top      map[string]json.RawMessage
	versions map[string]json.RawMessage
	distTags map[string]string

	mu       sync.Mutex
	renders  map[cacheKey]rendering
	distInfo map[string]proxyDist
	size     int64
}

// proxyDist is what a tarball fetch needs from a version's dist.
type proxyDist struct {
	Tarball   string `json:"tarball"`
	Integrity string `json:"integrity"`
	Shasum    string `json:"shasum"`
}

// parseProxyDoc parses an upstream packument of name.
func parseProxyDoc(name string, body []byte) (*proxyDoc, error) {
	d := &proxyDoc{renders: map[cacheKey]rendering{}, distInfo: map[string]proxyDist{}, size: int64(len(body))}
	if err := json.Unmarshal(body, &d.top); err != nil {
		return nil, fmt.Errorf("upstream packument of %s: %w", name, err)
	}
	var n string
	if raw, ok := d.top["name"]; ok && (json.Unmarshal(raw, &n) != nil || n != name) {
		return nil, fmt.Errorf("upstream packument of %s names %q", name, n)
	}
	if err := json.Unmarshal(d.top["versions"], &d.versions); err != nil || d.versions == nil {
		return nil, fmt.Errorf("upstream packument of %s: no versions", name)
	}
	if raw, ok := d.top["dist-tags"]; ok {
		_ = json.Unmarshal(raw, &d.distTags)
	}
	return d, nil
}

// dist returns the dist fields of version.
func (d *proxyDoc) dist(version string) (proxyDist, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if pd, ok := d.distInfo[version]; ok {
		return pd, true
	}
	raw, ok := d.versions[version]
	if !ok {
		return proxyDist{}, false
	}
	var m struct {
		Dist proxyDist `json:"dist"`
	}
	if json.Unmarshal(raw, &m) != nil {
		return proxyDist{}, false
	}
	d.distInfo[version] = m.Dist
	return m.Dist, true
}

// rendering is a served form of a proxied packument, with its HTTP ETag.
type rendering struct {
	body []byte
	etag string
}

// rendered returns the packument as served at base, and its ETag: every
// tarball URL pointing here; abbreviated keeps only what installing needs.
func (d *proxyDoc) rendered(base string, abbreviated bool) ([]byte, string, error) {
	k := cacheKey{base: base, abbreviated: abbreviated}
	d.mu.Lock()
	r, ok := d.renders[k]
	d.mu.Unlock()
	if ok {
		return r.body, r.etag, nil
	}
	name := ""
	_ = json.Unmarshal(d.top["name"], &name)
	out := make(map[string]json.RawMessage, len(d.top))
	for f, v := range d.top {
		if !abbreviated || f == "name" || f == "dist-tags" || f == "modified" {
			out[f] = v
		}
	}
	versions := make(map[string]json.RawMessage, len(d.versions))
	for v, raw := range d.versions {
		m, err := proxyManifest(name, v, raw, base, abbreviated)
		if err != nil {
			return nil, "", err
		}
		versions[v] = m
	}
	var err error
	if out["versions"], err = json.Marshal(versions); err != nil {
		return nil, "", err
	}
	if r.body, err = json.Marshal(out); err != nil {
		return nil, "", err
	}
	r.etag = httpETag("upstream "+d.sum, k)
	d.keep(k, r)
	return r.body, r.etag, nil
}

// keep caches a rendering; past 8, the older ones go.
func (d *proxyDoc) keep(k cacheKey, r rendering) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.renders) >= 8 {
		for old, or := range d.renders {
			d.size -= int64(len(or.body))
			delete(d.renders, old)
		}
	}
	d.renders[k] = r
	d.size += int64(len(r.body))
}

// proxyManifest rewrites a version manifest's dist.tarball to base.
func proxyManifest(name, version string, raw json.RawMessage, base string, abbreviated bool) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("upstream manifest %s@%s: %w", name, version, err)
	}
	if abbreviated {
		for f := range m {
			if !isAbbreviatedField(f) {
				delete(m, f)
			}
		}
	}
	var dist map[string]json.RawMessage
	if json.Unmarshal(m["dist"], &dist) != nil || dist == nil {
		dist = map[string]json.RawMessage{}
	}
	dist["tarball"], _ = json.Marshal(base + tarballPath(name, version))
	m["dist"], _ = json.Marshal(dist)
	return json.Marshal(m)
}

// footprint is what d costs in the proxies cache: four times its bytes
// (the packument and the renderings it keeps), for the maps parsed from
// them.
func (d *proxyDoc) footprint() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return 4 * d.size
}

// unpublished reports whether version was unpublished locally: merging
// never brings it back from the upstream.
func (d *storedPackument) unpublished(version string) bool {
	_, ok := d.Head.Unpublished[version]
	return ok
}
