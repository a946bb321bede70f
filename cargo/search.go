package cargo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
	"github.com/smartregistry/smartregistry/internal/shardindex"
)

// The search index is derived data, sharded so that a publish rewrites one
// small object: shard searchShard(crate) is a core.EntryDoc with one line
// per crate (id: the normalized name; data: its searchEntry).
const searchShards = 16

// maxDescription bounds the description kept for search.
const maxDescription = 1 << 10

// searchEntry describes a crate for cargo search.
type searchEntry struct {
	Name        string `json:"name"`
	MaxVersion  string `json:"max_version"`
	Description string `json:"description,omitempty"`
	// Seq is the crate document's Seq this entry describes: updates may
	// arrive out of order, and an older one is ignored.
	Seq int64 `json:"seq"`
}

type shardHead struct{}

func searchShard(crate string) int { return shardindex.Shard(crate, searchShards) }

// indexSearch updates the crate's search entry after a publish wrote doc
// (meta is what was published). When the entry describes the document
// just before, the new version is compared with its max_version alone;
// otherwise (concurrent changes) the entry is recomputed from doc. The
// index is derived data: a failure is logged, the publish stands, and the
// crate's next change (or RebuildSearchIndex) repairs the entry.
func (h *Handler) indexSearch(ctx context.Context, doc *crateDoc, meta *PublishMetadata) {
	desc := ""
	if meta.Description != nil {
		desc = truncate(*meta.Description, maxDescription)
	}
	h.logSearchError(ctx, doc, h.setSearchEntry(ctx, doc, false, func(cur *searchEntry) searchEntry {
		if cur == nil || cur.Seq != doc.Head.Seq-1 {
			e := fullEntry(doc)
			if cur != nil {
				e.Description = cur.Description
			}
			if e.MaxVersion == meta.Vers {
				e.Description = desc
			}
			return e
		}
		e := *cur
		e.Seq = doc.Head.Seq
		nv, _ := ParseVersion(meta.Vers)
		if mv, err := ParseVersion(cur.MaxVersion); err != nil || nv.Compare(mv) > 0 {
			e.MaxVersion, e.Description = meta.Vers, desc
		}
		return e
	}))
}

// reindexSearch recomputes the crate's search entry from doc (after a yank
// or a delete), keeping its description.
func (h *Handler) reindexSearch(ctx context.Context, doc *crateDoc) {
	h.logSearchError(ctx, doc, h.setSearchEntry(ctx, doc, false, keepDescription(doc)))
}

func (h *Handler) logSearchError(ctx context.Context, doc *crateDoc, err error) {
	if err != nil {
		h.log.ErrorContext(ctx, "cargo: update search index", "crate", doc.Head.Name, "error", err)
	}
}

// keepDescription computes the entry from doc with the current entry's
// description.
func keepDescription(doc *crateDoc) func(cur *searchEntry) searchEntry {
	return func(cur *searchEntry) searchEntry {
		e := fullEntry(doc)
		if cur != nil {
			e.Description = cur.Description
		}
		return e
	}
}

// RebuildSearchIndex recomputes every crate's search entry (name and
// max_version; descriptions are kept) from its document. Publishes, yanks
// and deletes keep the index current; this repairs it after a failure
// between a change and its index update (logged as "cargo: update search
// index"). It reads every crate document, so it is slow on a large store.
func (h *Handler) RebuildSearchIndex(ctx context.Context) error {
	var keys []string
	if err := h.deps.Storage.Walk(ctx, cratesPrefix, func(o core.ObjectInfo) error {
		if strings.HasSuffix(o.Key, "/index") {
			keys = append(keys, o.Key)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("cargo: rebuild search index: %w", err)
	}
	for _, k := range keys {
		doc, _, err := core.GetEntryDoc[crateHead](ctx, h.deps.Storage, k)
		if errors.Is(err, core.ErrNotFound) {
			continue
		}
		if err == nil {
			err = h.setSearchEntry(ctx, doc, true, keepDescription(doc))
		}
		if err != nil {
			return fmt.Errorf("cargo: rebuild search index: %w", err)
		}
	}
	return nil
}

// fullEntry computes a crate's entry from every index line: the highest
// version not yanked (or the highest, when all are yanked).
func fullEntry(doc *crateDoc) searchEntry {
	e := searchEntry{Name: doc.Head.Name, Seq: doc.Head.Seq}
	var best, bestAny Version
	found, foundAny := false, false
	for id, data := range doc.All() {
		if strings.HasPrefix(id, recordPrefix) {
			continue
		}
		v, err := ParseVersion(id)
		if err != nil {
			continue
		}
		var l struct {
			Yanked bool `json:"yanked"`
		}
		_ = json.Unmarshal(data, &l)
		if !foundAny || v.Compare(bestAny) > 0 {
			bestAny, foundAny = v, true
		}
		if !l.Yanked && (!found || v.Compare(best) > 0) {
			best, found = v, true
		}
	}
	switch {
	case found:
		e.MaxVersion = best.String()
	case foundAny:
		e.MaxVersion = bestAny.String()
	}
	return e
}

// setSearchEntry writes next(current entry) into the crate's shard, unless
// the shard describes the same or a newer document and force is false. A
// crate without versions leaves the index.
func (h *Handler) setSearchEntry(ctx context.Context, doc *crateDoc, force bool, next func(cur *searchEntry) searchEntry) error {
	crate := NormalizeName(doc.Head.Name)
	ctx = core.WithObject(context.WithoutCancel(ctx), core.ObjectRef{Kind: core.KindIndex, Package: crate})
	_, _, err := core.UpdateEntryDoc(ctx, h.deps.Storage, searchShardKey(searchShard(crate)), func(ix *core.EntryDoc[shardHead], _ bool) error {
		var cur *searchEntry
		if old, ok := ix.Get(crate); ok {
			var e searchEntry
			if json.Unmarshal(old, &e) == nil {
				if e.Seq >= doc.Head.Seq && !force {
					return core.ErrNoChange
				}
				cur = &e
			}
		}
		e := next(cur)
		if e.MaxVersion == "" {
			if !ix.Delete(crate) {
				return core.ErrNoChange
			}
			return nil
		}
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		return ix.Set(crate, b)
	})
	return err
}

// truncate cuts s to at most n bytes at a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// searcher keeps the search index in memory, sorted by name; each search
// stats the shards and reloads those another process (or this one)
// changed.
type searcher = shardindex.Index[shardHead, searchEntry]

func newSearcher(s *core.Storage) *searcher {
	return shardindex.New[shardHead](s, searchShards, searchShardKey,
		func(_ string, data []byte) (searchEntry, bool) {
			var e searchEntry
			return e, json.Unmarshal(data, &e) == nil && e.Name != ""
		},
		func(a, b searchEntry) int { return strings.Compare(a.Name, b.Name) })
}

// searchCrates serves GET /api/v1/crates?q=&per_page=&page= in crates.io's
// shape: {"crates":[{name,max_version,description}],"meta":{"total":n}}.
// Exact names come first, then name prefixes, other name matches, and
// description matches, each by name; crates the caller may not read are
// left out.
func (h *Handler) searchCrates(ctx context.Context, req *core.RequestContext, _ route.Params) (*core.Response, error) {
	principal, err := h.reader(ctx, req)
	if err != nil {
		return nil, err
	}
	perPage := queryInt(req, "per_page", 10, 1, 100)
	page := queryInt(req, "page", 1, 1, 1<<20)
	all, err := h.search.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	q := strings.ToLower(strings.TrimSpace(req.Query.Get("q")))
	var classes [4][]searchEntry
	for _, e := range all {
		c := matchClass(e, q)
		if c < 0 || !h.deps.Auth.Allowed(ctx, principal, crateScope(e.Name, core.ActionRead)) {
			continue
		}
		classes[c] = append(classes[c], e)
	}
	hits := slices.Concat(classes[:]...)
	from := min((page-1)*perPage, len(hits))
	crates := make([]map[string]any, 0, perPage)
	for _, e := range hits[from:min(from+perPage, len(hits))] {
		var desc *string
		if e.Description != "" {
			desc = &e.Description
		}
		crates = append(crates, map[string]any{"name": e.Name, "max_version": e.MaxVersion, "description": desc})
	}
	return core.JSONResponse(http.StatusOK, map[string]any{"crates": crates, "meta": map[string]int{"total": len(hits)}}), nil
}

// matchClass ranks an entry against a lower-cased query: 0 exact name
// (up to "-"/"_"), 1 name prefix, 2 name contains, 3 description contains
// every word; -1 no match. An empty query matches everything (3).
func matchClass(e searchEntry, q string) int {
	name := NormalizeName(e.Name)
	nq := strings.ReplaceAll(q, "_", "-")
	switch {
	case q == "":
		return 3
	case name == nq:
		return 0
	case strings.HasPrefix(name, nq):
		return 1
	case strings.Contains(name, nq):
		return 2
	}
	text := strings.ToLower(e.Description)
	for _, w := range strings.Fields(q) {
		if !strings.Contains(text, w) && !strings.Contains(name, w) {
			return -1
		}
	}
	return 3
}

// queryInt reads an integer query parameter, clamped to [lo, hi].
func queryInt(req *core.RequestContext, key string, def, lo, hi int) int {
	n, err := strconv.Atoi(req.Query.Get(key))
	if err != nil {
		return def
	}
	return max(lo, min(hi, n))
}
