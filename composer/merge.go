package composer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

// Merging (Config.Upstream.Merge): the /p2/ files of a local package also
// list the upstream's versions it lacks (by normalized version, tagged and
// ~dev alike), with their dist.url pointing back at this registry as for
// an upstream-only package (dist.reference and dist.shasum kept), so their
// zips are fetched through the cache and checked against dist.shasum. A
// version the package has locally is the local one. A merged file is
// served minified like a local one, with a Last-Modified that is the later
// of the package document's and the upstream file's. Uploading a version
// the upstream has is allowed, as with npm and PyPI: from then on the
// local one is served. Deleting a local version brings the upstream's
// back, since Composer keeps no tombstones.

// merging reports whether local packages show their upstream versions too.
func (h *Handler) merging() bool { return h.up != nil && h.cfg.Upstream.Merge }

// mergedFile returns the /p2/ file (~dev when dev) of the local package
// rendered as r with the upstream's additions, and its modification time;
// false when there is no upstream file to merge (no upstream has the
// package, or none answers and nothing is cached).
func (h *Handler) mergedFile(ctx context.Context, req *core.RequestContext, name string, dev bool, r *rendered) ([]byte, time.Time, bool) {
	d, err := h.upstreamDoc(ctx, req, name, dev)
	if err != nil {
		if !errors.Is(err, core.ErrNotFound) {
			h.log.WarnContext(ctx, "composer: upstream versions left out", "package", name, "error", err)
		}
		return nil, time.Time{}, false
	}
	modified := r.modTime
	if d.modified.After(modified) {
		modified = d.modified
	}
	rk := "merge\n" + r.etag + "\n" + req.BaseURL
	d.mu.Lock()
	cached, ok := d.renders[rk]
	d.mu.Unlock()
	if ok {
		return cached.body, modified, true
	}
	kind := 0
	if dev {
		kind = 1
	}
	type version struct {
		normalized string
		fields     []field
	}
	var all []version
	for _, id := range r.order[kind] {
		all = append(all, version{id, r.versions[id].fields})
	}
	for _, fields := range d.expanded(req.BaseURL) {
		v := fieldString(fields, "version_normalized")
		if v == "" {
			v, _ = NormalizeVersion(fieldString(fields, "version"))
		}
		if _, local := r.versions[v]; v != "" && !local {
			all = append(all, version{v, fields})
		}
	}
	// Newest first, as local files are; local entries first among equals.
	slices.SortStableFunc(all, func(a, b version) int { return compareVersions(b.normalized, a.normalized) })
	lists := make([][]field, len(all))
	for i, v := range all {
		lists[i] = v.fields
	}
	var buf bytes.Buffer
	nb, _ := json.Marshal(name)
	buf.WriteString(`{"minified":"composer/2.0","packages":{`)
	buf.Write(nb)
	buf.WriteByte(':')
	minify(&buf, lists)
	buf.WriteString("}}")
	d.keep(rk, rendering{body: buf.Bytes()})
	return buf.Bytes(), modified, true
}

// fieldString is the string value of key in fields ("" when absent or not
// a string).
func fieldString(fields []field, key string) string {
	i, ok := slices.BinarySearchFunc(fields, key, func(f field, k string) int { return strings.Compare(f.key, k) })
	if !ok {
		return ""
	}
	var s string
	_ = json.Unmarshal(fields[i].value, &s)
	return s
}

// expanded returns the upstream file's versions whole (undoing the
// composer/2.0 minification when the file says it is minified), each
// sorted by key, with dist.url rewritten to base as rendered does.
func (d *proxyFile) expanded(base string) [][]field {
	var minified string
	_ = json.Unmarshal(d.top["minified"], &minified)
	entries := d.entries
	if minified == "composer/2.0" {
		entries = Expand(entries)
	}
	out := make([][]field, 0, len(entries))
	for _, e := range entries {
		fields := make([]field, 0, len(e))
		for _, k := range slices.Sorted(maps.Keys(e)) {
			v := e[k]
			if k == "dist" {
				v = d.proxyDistValue(base, v)
			}
			fields = append(fields, field{k, v})
		}
		out = append(out, fields)
	}
	return out
}

// proxyDistValue returns a dist object with its url pointing at base (the
// object unchanged when it has no url).
func (d *proxyFile) proxyDistValue(base string, raw json.RawMessage) json.RawMessage {
	var dist map[string]json.RawMessage
	if json.Unmarshal(raw, &dist) != nil || dist == nil {
		return raw
	}
	var u, ref string
	_ = json.Unmarshal(dist["url"], &u)
	_ = json.Unmarshal(dist["reference"], &ref)
	if u == "" {
		return raw
	}
	dist["url"], _ = json.Marshal(distURL(base, d.name, distToken(ref, u)))
	b, err := json.Marshal(dist)
	if err != nil {
		return raw
	}
	return b
}

// keep caches a rendering of the file; past 8, the older ones go.
func (d *proxyFile) keep(k string, r rendering) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.renders) >= 8 {
		clear(d.renders)
	}
	d.renders[k] = r
}

// renderingETag is the HTTP ETag of a rendering of the upstream document
// with digest sum at base.
func renderingETag(sum, base string) string {
	s := sha256.Sum256([]byte(sum + "\n" + base))
	return `"` + hex.EncodeToString(s[:16]) + `"`
}
