package npm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
	"github.com/smartregistry/smartregistry/internal/shardindex"
)

// The search index is sharded: a package's entry lives in the shard
// searchShard(name) picks, a core.EntryDoc with one line per package (id:
// the name; data: its searchEntry as JSON). A publish rewrites one small
// shard by copying its lines, so its cost does not grow with the number of
// packages, and publishes of different packages rarely touch one object.
const searchShards = 64

// Bounds of what one package may put into the index.
const (
	maxSearchDescription = 1 << 10
	maxSearchKeywords    = 32
	maxSearchKeyword     = 64
)

// shardHead is the (empty) head of a search shard.
type shardHead struct{}

// searchEntry describes a package's latest version.
type searchEntry struct {
	Version     string    `json:"version,omitempty"`
	Description string    `json:"description,omitempty"`
	Keywords    []string  `json:"keywords,omitempty"`
	Date        time.Time `json:"date"`
	Publisher   string    `json:"publisher,omitempty"`
	// Seq is the Seq of the document described: updates of the index for
	// one package may arrive out of order, and an older one is ignored.
	Seq int64 `json:"seq,omitempty"`
	// Removed marks a package that lost its last version (at Seq), so that
	// a late update from an older document does not bring it back.
	Removed bool `json:"removed,omitempty"`
}

// searchShard is the shard of a package's entry.
func searchShard(name string) int { return shardindex.Shard(name, searchShards) }

// entryOf describes a document for the index, within the index's bounds.
func entryOf(d *storedPackument) searchEntry {
	latest := d.Head.DistTags["latest"]
	e, ok := d.version(latest)
	if !ok {
		return searchEntry{Seq: d.Head.Seq, Removed: true}
	}
	raw := withBase(e.Full, "")
	var m manifestInfo
	_ = json.Unmarshal(raw, &m)
	var pub struct {
		NpmUser struct {
			Name string `json:"name"`
		} `json:"_npmUser"`
	}
	_ = json.Unmarshal(raw, &pub)
	date, _ := time.Parse(time.RFC3339Nano, e.Time)
	var keywords []string
	for _, k := range m.keywords() {
		if len(keywords) == maxSearchKeywords {
			break
		}
		keywords = append(keywords, truncate(k, maxSearchKeyword))
	}
	return searchEntry{Version: latest, Description: truncate(m.Description, maxSearchDescription),
		Keywords: keywords, Date: date, Publisher: pub.NpmUser.Name, Seq: d.Head.Seq}
}

// truncate cuts s to at most n bytes, at a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// indexPackage brings the search index up to date with a document. The
// index is derived data: a failure is logged as an error, the change it
// follows stands, and the package's next change (or RebuildSearchIndex)
// repairs its entry. Concurrent changes of one package may index their
// documents in any order; the document with the highest Seq wins.
func (h *Handler) indexPackage(ctx context.Context, d *storedPackument) {
	if d == nil {
		return
	}
	if err := h.setSearchEntry(context.WithoutCancel(ctx), d.Head.Name, entryOf(d), false); err != nil {
		h.log.ErrorContext(ctx, "npm: update search index", "package", d.Head.Name, "error", err)
	}
}

// setSearchEntry writes a package's entry into its shard, unless the shard
// has an entry from the same or a newer document and force is false.
func (h *Handler) setSearchEntry(ctx context.Context, name string, entry searchEntry, force bool) error {
	data, err := json.Marshal(entry)
	if err != nil {
		return err
	}
	_, _, err = core.UpdateEntryDoc(core.WithObject(ctx, core.ObjectRef{Kind: core.KindIndex, Package: name}), h.deps.Storage, searchShardKey(searchShard(name)),
		func(ix *core.EntryDoc[shardHead], _ bool) error {
			if old, ok := ix.Get(name); ok {
				var cur searchEntry
				if !force && json.Unmarshal(old, &cur) == nil && cur.Seq >= entry.Seq {
					return core.ErrNoChange // this document, or a newer one, is indexed already
				}
			} else if entry.Removed {
				return core.ErrNoChange
			}
			return ix.Set(name, data)
		})
	return err
}

// searcher keeps the index in memory, sorted by name. Each search checks
// the shards' ETags (in parallel) and reloads those that changed: another
// process may have written them.
type searcher struct {
	index *shardindex.Index[shardHead, indexed]
}

// indexed is one package in the in-memory index, with lower-cased text for
// matching.
type indexed struct {
	name  string
	base  string // name without its scope
	text  string // description and keywords, lower case
	entry searchEntry
}

func newSearcher(s *core.Storage) *searcher {
	return &searcher{shardindex.New[shardHead](s, searchShards, searchShardKey, parseIndexed,
		func(a, b indexed) int { return strings.Compare(a.name, b.name) })}
}

// snapshot returns the current index, reloading the shards that changed.
func (s *searcher) snapshot(ctx context.Context) ([]indexed, error) { return s.index.Snapshot(ctx) }

// parseIndexed reads one shard line; removed packages are left out.
func parseIndexed(name string, data []byte) (indexed, bool) {
	var e searchEntry
	if json.Unmarshal(data, &e) != nil || e.Removed {
		return indexed{}, false
	}
	return indexed{name: name, base: name[strings.LastIndexByte(name, '/')+1:],
		text: strings.ToLower(e.Description + " " + strings.Join(e.Keywords, " ")), entry: e}, true
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

// RebuildSearchIndex recomputes every package's search entry from its
// document. The index is kept up to date on each change; this repairs it
// after a failure between a change and its index update (logged as "npm:
// update search index"). It reads every package's document, so it is slow
// on a large store; searches keep working meanwhile.
func (h *Handler) RebuildSearchIndex(ctx context.Context) error {
	err := h.deps.Storage.Walk(ctx, rootPrefix+"packages/", func(o core.ObjectInfo) error {
		name, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, rootPrefix+"packages/"), "/packument.json")
		if !ok {
			return nil
		}
		doc, _, err := core.GetEntryDoc[packageHead](ctx, h.deps.Storage, o.Key)
		if errors.Is(err, core.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		d := &storedPackument{EntryDoc: doc}
		d.init(name, time.Time{})
		return h.setSearchEntry(ctx, name, entryOf(d), true)
	})
	if err != nil {
		return fmt.Errorf("npm: rebuild search index: %w", err)
	}
	return nil
}
