package npm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
)

// searchIndex is the document at searchIndexKey: one entry per package
// with published versions, describing its latest version. It is updated on
// every publish, unpublish and tag change, so a search never lists storage.
type searchIndex struct {
	Packages map[string]searchEntry `json:"packages"`
	// Removed maps a package that lost its last version to the Seq of the
	// document without versions, so that a late update from an older
	// document does not bring it back.
	Removed map[string]int64 `json:"removed,omitempty"`
}

// searchEntry describes a package's latest version.
type searchEntry struct {
	Version     string    `json:"version"`
	Description string    `json:"description,omitempty"`
	Keywords    []string  `json:"keywords,omitempty"`
	Date        time.Time `json:"date"`
	Publisher   string    `json:"publisher,omitempty"`
	// Seq is the Seq of the document described: updates of the index for
	// one package may arrive out of order, and an older one is ignored.
	Seq int64 `json:"seq,omitempty"`
}

// entryOf describes a document for the index; ok is false when the package
// has no version left.
func entryOf(d *storedPackument) (searchEntry, bool) {
	latest := d.DistTags["latest"]
	raw, ok := d.Versions[latest]
	if !ok {
		return searchEntry{}, false
	}
	var m manifestInfo
	_ = json.Unmarshal(raw, &m)
	var pub struct {
		NpmUser struct {
			Name string `json:"name"`
		} `json:"_npmUser"`
	}
	_ = json.Unmarshal(raw, &pub)
	return searchEntry{Version: latest, Description: m.Description, Keywords: m.keywords(),
		Date: d.Times[latest], Publisher: pub.NpmUser.Name, Seq: d.Seq}, true
}

// indexPackage brings the search index up to date with a document. The
// index is derived data: a failure is logged, the change it follows stands.
// Concurrent changes of one package may index their documents in any
// order; the document with the highest Seq wins.
func (h *Handler) indexPackage(ctx context.Context, d *storedPackument) {
	if d == nil {
		return
	}
	entry, present := entryOf(d)
	_, err := core.UpdateJSON(context.WithoutCancel(ctx), h.deps.Storage, searchIndexKey(),
		func(ix *searchIndex, _ bool) error {
			if ix.Packages == nil {
				ix.Packages = map[string]searchEntry{}
			}
			old, had := ix.Packages[d.Name]
			gone, removed := ix.Removed[d.Name]
			switch {
			case had && old.Seq >= d.Seq, removed && gone >= d.Seq:
				return core.ErrNoChange // this document, or a newer one, is indexed already
			case present:
				ix.Packages[d.Name] = entry
				delete(ix.Removed, d.Name)
			case had:
				delete(ix.Packages, d.Name)
				if ix.Removed == nil {
					ix.Removed = map[string]int64{}
				}
				ix.Removed[d.Name] = d.Seq
			default:
				return core.ErrNoChange
			}
			return nil
		})
	if err != nil {
		h.log.WarnContext(ctx, "npm: update search index", "package", d.Name, "error", err)
	}
}

// searcher keeps the index in memory, sorted by name, and reloads it when
// its ETag in storage changes (another process may have written it).
type searcher struct {
	storage *core.Storage

	mu      sync.Mutex
	etag    string
	entries []indexed
}

// indexed is one package in the in-memory index, with lower-cased text for
// matching.
type indexed struct {
	name  string
	base  string // name without its scope
	text  string // description and keywords, lower case
	entry searchEntry
}

func newSearcher(s *core.Storage) *searcher { return &searcher{storage: s} }

// snapshot returns the current index, reloading it if it changed.
func (s *searcher) snapshot(ctx context.Context) ([]indexed, error) {
	st, err := s.storage.Stat(ctx, searchIndexKey())
	if errors.Is(err, core.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st.ETag == s.etag && s.etag != "" {
		return s.entries, nil
	}
	var ix searchIndex
	etag, err := core.GetJSON(ctx, s.storage, searchIndexKey(), &ix)
	if errors.Is(err, core.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	entries := make([]indexed, 0, len(ix.Packages))
	for _, name := range slices.Sorted(maps.Keys(ix.Packages)) {
		e := ix.Packages[name]
		entries = append(entries, indexed{name: name, base: name[strings.LastIndexByte(name, '/')+1:],
			text: strings.ToLower(e.Description + " " + strings.Join(e.Keywords, " ")), entry: e})
	}
	s.etag, s.entries = etag, entries
	return entries, nil
}

// Match classes, best first.
const (
	matchExact = iota
	matchPrefix
	matchName
	matchText
	noMatch
)

// classify ranks a package against a lower-cased query and its terms.
func classify(e *indexed, q string, terms []string) int {
	switch {
	case q == "":
		return matchText
	case e.name == q:
		return matchExact
	case strings.HasPrefix(e.name, q) || strings.HasPrefix(e.base, q):
		return matchPrefix
	case strings.Contains(e.name, q):
		return matchName
	}
	for _, t := range terms {
		if !strings.Contains(e.name, t) && !strings.Contains(e.text, t) {
			return noMatch
		}
	}
	return matchText
}

// search returns one page of the matches that allow accepts, best first,
// their match classes and their total count.
func search(entries []indexed, text string, from, size int, allow func(name string) bool) ([]*indexed, []int, int) {
	q := strings.ToLower(strings.TrimSpace(text))
	terms := strings.Fields(q)
	var hits [noMatch][]*indexed
	for i := range entries {
		if c := classify(&entries[i], q, terms); c != noMatch && allow(entries[i].name) {
			hits[c] = append(hits[c], &entries[i])
		}
	}
	var page []*indexed
	var classes []int
	total := 0
	for c, list := range hits {
		for _, e := range list {
			if total >= from && len(page) < size {
				page = append(page, e)
				classes = append(classes, c)
			}
			total++
		}
	}
	return page, classes, total
}

// searchPackages serves GET /-/v1/search?text=&size=&from=: exact name
// first, then name prefix, then other name matches, then description and
// keyword matches, each group by name. Packages the caller may not read are
// left out.
func (h *Handler) searchPackages(ctx context.Context, req *core.RequestContext, _ route.Params) (*core.Response, error) {
	principal, err := h.principal(ctx, req)
	if err != nil {
		return nil, err
	}
	size := queryInt(req, "size", 20, 1, 250)
	from := queryInt(req, "from", 0, 0, 1<<30)
	entries, err := h.index.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	page, classes, total := search(entries, req.Query.Get("text"), from, size, func(name string) bool {
		return h.deps.Auth.Allowed(ctx, principal, core.NewScope(core.ProtocolNPM, "package", name, core.ActionRead))
	})
	objects := make([]map[string]any, 0, len(page))
	for i, e := range page {
		scope := "unscoped"
		if strings.HasPrefix(e.name, "@") {
			scope = e.name[1:strings.IndexByte(e.name, '/')]
		}
		pkg := map[string]any{
			"name": e.name, "scope": scope, "version": e.entry.Version, "description": e.entry.Description,
			"keywords": e.entry.Keywords, "date": e.entry.Date.Format(time.RFC3339Nano),
			"links": map[string]string{"npm": req.BaseURL + "/" + e.name},
		}
		if e.entry.Publisher != "" {
			pkg["publisher"] = map[string]string{"username": e.entry.Publisher}
			pkg["maintainers"] = []map[string]string{{"username": e.entry.Publisher}}
		}
		score := 1 / float64(classes[i]+1)
		objects = append(objects, map[string]any{
			"package": pkg, "searchScore": score, "flags": map[string]any{},
			"score": map[string]any{"final": score, "detail": map[string]float64{"quality": 1, "popularity": 1, "maintenance": 1}},
		})
	}
	return jsonOK(map[string]any{"objects": objects, "total": total, "time": time.Now().UTC().Format(time.RFC3339Nano)}), nil
}

// queryInt reads an integer query parameter, clamped to [lo, hi].
func queryInt(req *core.RequestContext, key string, def, lo, hi int) int {
	n, err := strconv.Atoi(req.Query.Get(key))
	if err != nil {
		return def
	}
	return max(lo, min(hi, n))
}

// RebuildSearchIndex recomputes the search index from every package's
// document. The index is kept up to date on each change; this repairs it
// after a failure between a change and its index update (logged as
// "npm: update search index"). It lists all packages, so it is slow on a
// large store; searches keep working meanwhile. A change made while it runs
// may be missing from the rebuilt index until its package changes again.
func (h *Handler) RebuildSearchIndex(ctx context.Context) error {
	fresh := map[string]searchEntry{}
	err := h.deps.Storage.Walk(ctx, rootPrefix+"packages/", func(o core.ObjectInfo) error {
		if !strings.HasSuffix(o.Key, "/packument.json") {
			return nil
		}
		d := &storedPackument{}
		if _, err := core.GetJSON(ctx, h.deps.Storage, o.Key, d); err != nil {
			if errors.Is(err, core.ErrNotFound) {
				return nil
			}
			return err
		}
		if e, ok := entryOf(d); ok {
			fresh[d.Name] = e
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("npm: rebuild search index: %w", err)
	}
	_, err = core.UpdateJSON(ctx, h.deps.Storage, searchIndexKey(), func(ix *searchIndex, _ bool) error {
		ix.Packages, ix.Removed = fresh, nil
		return nil
	})
	return err
}
