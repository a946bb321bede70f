package cargo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/upstream"
)

// Proxying. A crate this registry does not hold is fetched from the
// upstreams core.Deps.Upstream names for it (scope rules included); each
// upstream URL is a sparse index root, where its config.json lives. The
// crate's index file is cached with the TTL of Config.Upstream as the
// upstream sent it (its lines, cksum included, are served untouched: they
// hold no URL, and config.json, which does, stays this registry's, so
// cargo downloads from here). A .crate is fetched when first asked for,
// from the dl of the upstream the index file came from (its config.json,
// cached like an index file), streamed to the client while it is checked
// against the index line's cksum, and cached for good. A crate held
// locally shadows the upstream one entirely, unless Config.Upstream.Merge
// adds the upstream's versions it lacks (see mergedIndex). Reading (the
// read scope) is all a fetch needs, unless
// Config.Upstream.NewNamesNeedWrite asks for write before a crate is first
// fetched.

// Upstream returns the client that fetches from the upstreams, or nil when
// none are configured; its Breakers report their circuit breakers.
func (h *Handler) Upstream() *upstream.Client { return h.up }

// proxied reports whether a local miss (err) may be asked upstream.
func (h *Handler) proxied(err error) bool {
	return h.up != nil && errors.Is(err, core.ErrNotFound)
}

// upstreamIndexDoc returns the upstream index file of a crate (name as in
// the index path, lower case), checked line by line before it is cached.
func (h *Handler) upstreamIndexDoc(ctx context.Context, principal *core.Principal, name string) (*upstream.Document, error) {
	crate := NormalizeName(name)
	if err := h.deps.Auth.Authorize(ctx, principal, crateScope(strings.ToLower(name), core.ActionRead)); err != nil {
		return nil, err
	}
	if h.cfg.Upstream.NewNamesNeedWrite {
		if _, err := h.deps.Storage.Stat(ctx, upstreamIndexKey(crate)); errors.Is(err, core.ErrNotFound) {
			if err := h.deps.Auth.Authorize(ctx, principal, crateScope(strings.ToLower(name), core.ActionWrite)); err != nil {
				return nil, err
			}
		}
	}
	doc, err := h.up.Metadata(core.WithObject(ctx, core.ObjectRef{Package: crate}), upstream.MetadataRequest{
		Name: strings.ToLower(name), Key: upstreamIndexKey(crate), Path: "/" + IndexPath(name),
		Check: func(body []byte, _ core.Upstream) ([]byte, error) {
			_, err := upstreamLines(crate, body)
			return body, err
		},
	})
	if errors.Is(err, core.ErrNotFound) {
		return nil, fmt.Errorf("%w: crate %s", core.ErrNotFound, name)
	}
	return doc, err
}

// upstreamLines decodes an upstream index file: every line a version of
// crate with a sha256 cksum.
func upstreamLines(crate string, body []byte) ([]IndexEntry, error) {
	var out []IndexEntry
	for line := range bytes.SplitSeq(body, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e IndexEntry
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, fmt.Errorf("upstream index of %s: %w", crate, err)
		}
		if NormalizeName(e.Name) != crate || e.Vers == "" {
			return nil, fmt.Errorf("upstream index of %s: a line names %q %q", crate, e.Name, e.Vers)
		}
		if _, err := upstream.HexDigest("sha256", e.Cksum); err != nil {
			return nil, fmt.Errorf("upstream index of %s %s: %w", crate, e.Vers, err)
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("upstream index of %s: no versions", crate)
	}
	return out, nil
}

// upstreamIndexFile serves a crate's index file from the upstreams.
func (h *Handler) upstreamIndexFile(ctx context.Context, req *core.RequestContext, principal *core.Principal, name string) (*core.Response, error) {
	doc, err := h.upstreamIndexDoc(ctx, principal, name)
	if err != nil {
		return nil, err
	}
	return indexResponse(req, doc.Body, `"up-`+doc.Sum+`"`, doc.Modified.UTC().Truncate(time.Second))
}

// upstreamDownload serves a .crate of a crate held upstream: from the
// cache, else fetched from the upstream's dl and checked against the index
// line's cksum.
func (h *Handler) upstreamDownload(ctx context.Context, principal *core.Principal, name, vers string) (*core.Response, error) {
	if ValidateName(name) != nil {
		return nil, fmt.Errorf("%w: no crate is named %.80q", core.ErrNotFound, name)
	}
	crate := NormalizeName(name)
	ctx = core.WithObject(ctx, core.ObjectRef{Package: crate, Version: vers})
	key := upstreamFileKey(crate, vers)
	if err := h.deps.Auth.Authorize(ctx, principal, crateScope(strings.ToLower(name), core.ActionRead)); err != nil {
		return nil, err
	}
	if rc, info, err := h.deps.Storage.Get(core.WithKind(ctx, core.KindArtifact), key, nil); err == nil {
		return h.crateResponse(core.StreamResponse(http.StatusOK, "application/gzip", rc, info.Size), name, vers), nil
	}
	doc, err := h.upstreamIndexDoc(ctx, principal, strings.ToLower(name))
	if err != nil {
		return nil, err
	}
	lines, err := upstreamLines(crate, doc.Body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", core.ErrUnavailable, err)
	}
	var line *IndexEntry
	for i := range lines {
		if lines[i].Vers == vers {
			line = &lines[i]
		}
	}
	if line == nil {
		return nil, fmt.Errorf("%w: %s %s", core.ErrNotFound, name, vers)
	}
	digest, _ := upstream.HexDigest("sha256", line.Cksum) // checked by upstreamLines
	url, err := h.upstreamDL(ctx, crate, doc.Upstream, line)
	if err != nil {
		return nil, err
	}
	a, err := h.up.Artifact(ctx, upstream.ArtifactRequest{Name: strings.ToLower(name), Key: key, Path: url,
		From: doc.Upstream, StagePrefix: uploadsPrefix, Digests: []upstream.Digest{digest},
		ContentType: "application/gzip"})
	if err != nil {
		return nil, err
	}
	return h.crateResponse(core.StreamResponse(http.StatusOK, a.ContentType, a.Body, a.Size), line.Name, vers), nil
}

// crateResponse adds a download's headers.
func (h *Handler) crateResponse(resp *core.Response, name, vers string) *core.Response {
	resp.Header.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s.crate"`, name, vers))
	if h.authRequired() {
		resp.Header.Set("Cache-Control", "private, max-age=31536000, immutable")
	} else {
		resp.Header.Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	return resp
}

// upstreamConfig is the part of an upstream's config.json a download
// needs.
type upstreamConfig struct {
	DL string `json:"dl"`
}

// upstreamDL returns the URL of a .crate at the upstream named from: its
// config.json's dl, with the markers cargo knows replaced, or followed by
// /<crate>/<version>/download when it has none.
func (h *Handler) upstreamDL(ctx context.Context, crate, from string, line *IndexEntry) (string, error) {
	var base string
	for _, u := range h.up.Upstreams(ctx, strings.ToLower(line.Name)) {
		if u.Name == from {
			base = strings.TrimSuffix(u.URL, "/")
		}
	}
	if base == "" {
		return "", fmt.Errorf("%w: upstream %s no longer serves %s", core.ErrUnavailable, from, line.Name)
	}
	doc, err := h.up.Metadata(core.WithObject(ctx, core.ObjectRef{Package: crate}), upstream.MetadataRequest{
		Name: strings.ToLower(line.Name), Key: upstreamConfigKey(from), Path: base + "/config.json",
		Check: func(body []byte, _ core.Upstream) ([]byte, error) {
			_, err := parseUpstreamConfig(body)
			return body, err
		},
	})
	if err != nil {
		if errors.Is(err, core.ErrNotFound) {
			return "", fmt.Errorf("%w: upstream %s has no config.json", core.ErrUnavailable, from)
		}
		return "", err
	}
	cfg, err := parseUpstreamConfig(doc.Body)
	if err != nil {
		return "", fmt.Errorf("%w: upstream %s: %w", core.ErrUnavailable, from, err)
	}
	return dlURL(cfg.DL, line.Name, line.Vers, line.Cksum), nil
}

// parseUpstreamConfig decodes an upstream's config.json.
func parseUpstreamConfig(body []byte) (upstreamConfig, error) {
	var c upstreamConfig
	if err := json.Unmarshal(body, &c); err != nil {
		return c, fmt.Errorf("config.json: %w", err)
	}
	if !strings.HasPrefix(c.DL, "http://") && !strings.HasPrefix(c.DL, "https://") {
		return c, fmt.Errorf("config.json: dl %q is not an http(s) URL", c.DL)
	}
	return c, nil
}

// dlMarkers are the markers cargo replaces in a dl template.
var dlMarkers = []string{"{crate}", "{version}", "{prefix}", "{lowerprefix}", "{sha256-checksum}"}

// dlURL is the download URL of a version as cargo builds it from dl.
func dlURL(dl, name, vers, cksum string) string {
	templated := false
	for _, m := range dlMarkers {
		templated = templated || strings.Contains(dl, m)
	}
	if !templated {
		return strings.TrimSuffix(dl, "/") + "/" + name + "/" + vers + "/download"
	}
	// cargo's {prefix} keeps the name's case; IndexPath lowers it.
	var prefix string
	switch {
	case len(name) <= 2:
		prefix = strconv.Itoa(len(name))
	case len(name) == 3:
		prefix = "3/" + name[:1]
	default:
		prefix = name[:2] + "/" + name[2:4]
	}
	return strings.NewReplacer("{crate}", name, "{version}", vers, "{prefix}", prefix,
		"{lowerprefix}", strings.ToLower(prefix), "{sha256-checksum}", cksum).Replace(dl)
}

// Merging (Config.Upstream.Merge): the index file of a local crate also
// lists the upstream's versions it lacks, and their .crate files download
// through the cache like those of an upstream-only crate. A version is
// the local one when the crate has it (build metadata ignored, as cargo
// does), and a version deleted locally (its tombstone) stays gone. An
// upstream line naming the crate in another spelling than the local one
// is left out: cargo keeps one name per crate. Publishing a version the
// upstream has is allowed, as with npm and PyPI: from then on the local
// one is served.

// merging reports whether local crates show their upstream versions too.
func (h *Handler) merging() bool { return h.up != nil && h.cfg.Upstream.Merge }

// upstreamAddition reports whether vers, which the local crate does not
// list, may be served from the upstream beside it.
func upstreamAddition(d *crateDoc, vers string) bool {
	v, err := ParseVersion(vers)
	if err != nil {
		return false
	}
	if _, deleted := d.Head.Deleted[v.withoutBuild()]; deleted {
		return false
	}
	_, local := record(d, v)
	return !local
}

// mergedIndex returns the index file of the local crate e with the
// upstream's additions, and its ETag; false when there are none to add
// (no upstream has the crate, or none answers and nothing is cached).
func (h *Handler) mergedIndex(ctx context.Context, principal *core.Principal, name string, e *cachedCrate) ([]byte, string, bool) {
	doc, err := h.upstreamIndexDoc(ctx, principal, name)
	if err != nil {
		if !errors.Is(err, core.ErrNotFound) {
			h.log.WarnContext(ctx, "cargo: upstream versions left out", "crate", name, "error", err)
		}
		return nil, "", false
	}
	crate := NormalizeName(name)
	sum := sha256.Sum256([]byte(e.etag + "\n" + doc.Sum))
	etag := `"merge-` + hex.EncodeToString(sum[:16]) + `"`
	if body, ok := h.merged.Get(crate, etag); ok {
		return body, etag, true
	}
	lines, err := upstreamLines(crate, doc.Body)
	if err != nil {
		return nil, "", false
	}
	body := bytes.Clone(e.rendered())
	for line := range bytes.SplitSeq(doc.Body, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		l := lines[0]
		lines = lines[1:]
		if l.Name == e.doc.Head.Name && upstreamAddition(e.doc, l.Vers) {
			body = append(append(body, line...), '\n')
		}
	}
	if mergedCost(crate, body) <= h.mergedBudget() { // too large to keep beside others
		h.merged.Put(crate, etag, body)
	}
	return body, etag, true
}

// mergedCost is what a merged index file costs in Handler.merged.
func mergedCost(crate string, body []byte) int64 { return int64(len(body) + len(crate) + 64) }

// mergedBudget bounds the bytes of merged index files kept in memory.
func (h *Handler) mergedBudget() int64 { return max(h.cfg.IndexCacheSize/4, 0) }
