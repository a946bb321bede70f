package composer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

// packageHead is the small part of the stored package document (a
// core.EntryDoc at packageKey, one line per version: the normalized
// version, then its versionRecord as JSON). An upload decodes only the
// head and the line of its version, and appends, so its cost does not grow
// with the number of versions.
type packageHead struct {
	Name string `json:"name"`
	// Serial grows with every change.
	Serial int64 `json:"serial"`
	// Indexed is what the package's marker says (the description and
	// type of the last upload), so that an upload rewrites the marker only
	// when that changes.
	Indexed indexEntry `json:"indexed"`
}

// rendered is a package's repository metadata, made from one version of
// its document (etag) for one base URL.
type rendered struct {
	etag    string
	baseURL string
	modTime time.Time
	// tagged and dev are the /p2/ files; nil when there is no version of
	// the kind.
	tagged, dev []byte
	// versions are the decoded versions by normalized version, with the
	// raw lines they were decoded from, so that the next rendering decodes
	// only what changed.
	versions map[string]decoded
	// order lists the tagged (0) and dev (1) versions, newest first.
	order [2][]string
	// entries are the minified entries of the versions in the files, by
	// normalized version: the next rendering copies those whose version
	// and predecessor did not change.
	entries map[string]entry
	// refs maps a dist reference (sha1) to the normalized version.
	refs map[string]string
}

// entry is one version's entry in a minified file: its bytes (a slice of
// the file) and the version it was minified against ("" for the first).
type entry struct {
	prev string
	b    []byte
}

type decoded struct {
	raw    []byte
	rec    *versionRecord
	fields []field
}

// fileCache keeps the rendered metadata of packages. When full, an
// arbitrary entry goes.
type fileCache struct {
	mu      sync.Mutex
	max     int
	entries map[string]*rendered
}

func newFileCache(n int) *fileCache { return &fileCache{max: n, entries: map[string]*rendered{}} }

func (c *fileCache) get(name string) *rendered {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entries[name]
}

func (c *fileCache) put(name string, r *rendered) {
	if c.max <= 0 || r.etag == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[name]; !ok && len(c.entries) >= c.max {
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	c.entries[name] = r
}

// load returns the rendered metadata of a package for baseURL, from the
// cache when it was made from the current document (one stat), else read
// and rendered (decoding only the versions that changed since the cached
// rendering). A package without a document or without versions is
// ErrNotFound.
func (h *Handler) load(ctx context.Context, name, baseURL string) (*rendered, error) {
	ctx = core.WithObject(ctx, core.ObjectRef{Kind: core.KindMetadata, Package: name})
	prev := h.files.get(name)
	if prev != nil {
		st, err := h.deps.Storage.Stat(ctx, packageKey(name))
		if err == nil && st.ETag == prev.etag && prev.baseURL == baseURL {
			return prev, nil
		}
	}
	ed, info, err := core.GetEntryDoc[packageHead](ctx, h.deps.Storage, packageKey(name))
	if errors.Is(err, core.ErrNotFound) {
		return nil, fmt.Errorf("%w: package %s", core.ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("read package %s: %w", name, err)
	}
	if ed.Len() == 0 {
		return nil, fmt.Errorf("%w: package %s has no versions", core.ErrNotFound, name)
	}
	if prev != nil && prev.baseURL != baseURL {
		prev = nil
	}
	r, err := render(name, ed, info, baseURL, prev)
	if err != nil {
		return nil, fmt.Errorf("render package %s: %w", name, err)
	}
	h.files.put(name, r)
	return r, nil
}

// render makes the /p2/ files of a package document. prev, when not nil,
// is an earlier rendering for the same base URL: versions whose lines did
// not change are taken from it, decoded, in their order, and minified.
func render(name string, ed *core.EntryDoc[packageHead], info core.ObjectInfo, baseURL string, prev *rendered) (*rendered, error) {
	r := &rendered{etag: info.ETag, baseURL: baseURL, modTime: info.ModTime,
		versions: make(map[string]decoded, ed.Len()), refs: make(map[string]string, ed.Len()),
		entries: make(map[string]entry, ed.Len())}
	changed := map[string]bool{}
	var ids [2][]string
	for id, data := range ed.All() {
		d, ok := decoded{}, false
		if prev != nil {
			d, ok = prev.versions[id]
			ok = ok && bytes.Equal(d.raw, data)
		}
		if !ok {
			rec := new(versionRecord)
			if err := json.Unmarshal(data, rec); err != nil {
				return nil, fmt.Errorf("version %s: %w", id, err)
			}
			fields, err := metadataOf(name, id, rec, distURL(baseURL, name, rec.SHA1))
			if err != nil {
				return nil, fmt.Errorf("version %s: %w", id, err)
			}
			d = decoded{raw: data, rec: rec, fields: fields}
			changed[id] = true
		}
		r.versions[id] = d
		r.refs[d.rec.SHA1] = id
		kind := 0
		if IsDev(id) {
			kind = 1
		}
		ids[kind] = append(ids[kind], id)
	}
	for kind := range ids {
		var before []string
		if prev != nil {
			before = prev.order[kind]
		}
		r.order[kind] = r.sorted(ids[kind], before)
	}
	var prevFiles [2][]byte
	if prev != nil {
		prevFiles = [2][]byte{prev.tagged, prev.dev}
	}
	r.tagged = r.file(name, r.order[0], prev, len(prevFiles[0]), changed)
	r.dev = r.file(name, r.order[1], prev, len(prevFiles[1]), changed)
	return r, nil
}

// sorted returns ids newest first. before is the order of an earlier
// rendering: the ids still there keep it, and the others are inserted, so
// that a rendering after an upload costs a few comparisons, not a sort.
func (r *rendered) sorted(ids, before []string) []string {
	desc := func(a, b string) int { return compareVersions(b, a) }
	if len(before) == 0 {
		slices.SortFunc(ids, desc)
		return ids
	}
	kept := make(map[string]bool, len(before))
	out := make([]string, 0, len(ids))
	for _, id := range before {
		if _, ok := r.versions[id]; ok {
			out = append(out, id)
			kept[id] = true
		}
	}
	for _, id := range ids {
		if kept[id] {
			continue
		}
		i, _ := slices.BinarySearchFunc(out, id, desc)
		out = slices.Insert(out, i, id)
	}
	return out
}

// file writes one /p2/ file: the versions in order, minified, copying
// the entries of prev whose version and predecessor did not change.
// sizeHint is the size of prev's file.
func (r *rendered) file(name string, ids []string, prev *rendered, sizeHint int, changed map[string]bool) []byte {
	if len(ids) == 0 {
		return nil
	}
	var buf bytes.Buffer
	buf.Grow(sizeHint + 4096)
	nb, _ := json.Marshal(name)
	buf.WriteString(`{"minified":"composer/2.0","packages":{`)
	buf.Write(nb)
	buf.WriteString(":[")
	type span struct{ start, end int }
	spans := make([]span, len(ids))
	for i, id := range ids {
		if i > 0 {
			buf.WriteByte(',')
		}
		p := ""
		if i > 0 {
			p = ids[i-1]
		}
		spans[i].start = buf.Len()
		if e, ok := prev.entry(id); ok && e.prev == p && !changed[id] && !changed[p] {
			buf.Write(e.b)
		} else {
			var pf []field
			if p != "" {
				pf = r.versions[p].fields
			}
			diffVersion(&buf, pf, r.versions[id].fields)
		}
		spans[i].end = buf.Len()
	}
	buf.WriteString("]}}")
	b := buf.Bytes()
	for i, id := range ids {
		p := ""
		if i > 0 {
			p = ids[i-1]
		}
		r.entries[id] = entry{prev: p, b: b[spans[i].start:spans[i].end:spans[i].end]}
	}
	return b
}

// entry returns the minified entry of a version in r; false when r is
// nil or has none.
func (r *rendered) entry(id string) (entry, bool) {
	if r == nil {
		return entry{}, false
	}
	e, ok := r.entries[id]
	return e, ok
}

// distURL is where the zip with the given sha1 of a package is served.
func distURL(baseURL, name, sha1 string) string {
	return baseURL + "/dists/" + name + "/" + url.PathEscape(sha1) + ".zip"
}

// addVersion lists a stored zip as a version in its package's document,
// if the version is free: the same zip already listed under it is
// core.ErrAlreadyListed (a retry), another one ErrVersionExists. Only the
// document's head and this version's line are decoded. It reports
// whether the package's marker must be written: for its first version,
// or when the indexed description or type changed.
func (h *Handler) addVersion(ctx context.Context, name, normalized string, rec *versionRecord, idx indexEntry) (*core.EntryDoc[packageHead], core.ObjectInfo, bool, error) {
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, core.ObjectInfo{}, false, err
	}
	mark := false
	ed, info, err := core.UpdateEntryDoc(ctx, h.deps.Storage, packageKey(name), func(ed *core.EntryDoc[packageHead], _ bool) error {
		if old, ok := ed.Get(normalized); ok {
			var cur versionRecord
			if json.Unmarshal(old, &cur) == nil && cur.SHA1 == rec.SHA1 {
				return core.ErrAlreadyListed
			}
			return fmt.Errorf("%w: %s %s", ErrVersionExists, name, rec.Version)
		}
		mark = ed.Len() == 0 || ed.Head.Indexed != idx
		ed.Head.Name, ed.Head.Indexed = name, idx
		ed.Head.Serial++
		return ed.Set(normalized, data)
	})
	return ed, info, mark, err
}

// listsObject reports whether the package's document lists version
// normalized stored under object id.
func (h *Handler) listsObject(ctx context.Context, name, normalized, object string) (bool, error) {
	ed, _, err := core.GetEntryDoc[packageHead](ctx, h.deps.Storage, packageKey(name))
	if err != nil {
		return false, err
	}
	data, ok := ed.Get(normalized)
	if !ok {
		return false, nil
	}
	var rec versionRecord
	return json.Unmarshal(data, &rec) == nil && rec.Object == object, nil
}
