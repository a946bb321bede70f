package rubygems

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

// gemHead is the small part of a gem document (a core.EntryDoc at gemKey,
// one line per version: its versionID, then its versionRecord as JSON). A
// push decodes only the head and the line of its own version, and appends,
// so that its cost does not grow with the number of versions.
type gemHead struct {
	Name   string `json:"name"`
	Serial int64  `json:"serial"`
}

// versionRecord is one pushed version (one platform of it).
type versionRecord struct {
	Spec
	SHA256 string    `json:"sha256"`
	Size   int64     `json:"size"`
	Object string    `json:"object"` // fileKey's object id
	Pushed time.Time `json:"pushed"`
	Yanked bool      `json:"yanked,omitempty"`
}

// gemDoc is a gem document as read: its entries and the ETag of the
// stored object, which names this version of it.
type gemDoc struct {
	etag string
	ed   *core.EntryDoc[gemHead]
}

// records decodes every version of the document, in push order.
func (d gemDoc) records() ([]versionRecord, error) {
	out := make([]versionRecord, 0, d.ed.Len())
	for id, data := range d.ed.All() {
		var r versionRecord
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, fmt.Errorf("version %s: %w", id, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// record decodes the version with the given versionID.
func (d gemDoc) record(id string) (*versionRecord, error) {
	data, ok := d.ed.Get(id)
	if !ok {
		return nil, nil
	}
	var r versionRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("version %s: %w", id, err)
	}
	return &r, nil
}

// infoFile is the rendered /info/<gem> file of one gem document.
type infoFile struct {
	body   []byte
	md5    string // hex
	sha256 []byte
	served []string // the versionIDs it lists, in order
}

// renderInfo renders the compact index's info file of a gem: "---", then
// one line per version not yanked, in push order:
//
//	<version>[-<platform>] <dep>:<req>&<req>,<dep>:<req>|checksum:<sha256>,ruby:<req>,rubygems:<req>
func renderInfo(recs []versionRecord) *infoFile {
	var b strings.Builder
	b.WriteString("---\n")
	f := &infoFile{}
	for _, r := range recs {
		if r.Yanked {
			continue
		}
		id := versionID(r.Version, r.Platform)
		f.served = append(f.served, id)
		b.WriteString(id)
		b.WriteByte(' ')
		deps := slices.Clone(r.Dependencies)
		slices.SortStableFunc(deps, func(a, b Dependency) int { return strings.Compare(a.Name, b.Name) })
		for i, d := range deps {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(d.Name + ":" + strings.Join(d.Requirements, "&"))
		}
		b.WriteString("|checksum:" + r.SHA256)
		if reqs := meaningful(r.RequiredRuby); len(reqs) > 0 {
			b.WriteString(",ruby:" + strings.Join(reqs, "&"))
		}
		if reqs := meaningful(r.RequiredRubygems); len(reqs) > 0 {
			b.WriteString(",rubygems:" + strings.Join(reqs, "&"))
		}
		b.WriteByte('\n')
	}
	f.body = []byte(b.String())
	m := md5.Sum(f.body)
	f.md5 = hex.EncodeToString(m[:])
	s := sha256.Sum256(f.body)
	f.sha256 = s[:]
	return f
}

// meaningful drops the requirements that allow everything (">= 0").
func meaningful(reqs []string) []string {
	return slices.DeleteFunc(slices.Clone(reqs), func(r string) bool { return r == ">= 0" })
}

// infoCache keeps gem documents and their rendered info files, each valid
// for one stored ETag. When full, an arbitrary entry goes.
type infoCache struct {
	mu   sync.Mutex
	max  int
	docs map[string]cachedGem
}

type cachedGem struct {
	doc  gemDoc
	info *infoFile // nil until rendered
}

func newInfoCache(n int) *infoCache { return &infoCache{max: n, docs: map[string]cachedGem{}} }

func (c *infoCache) get(name, etag string) (cachedGem, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.docs[name]
	return e, ok && e.doc.etag == etag
}

func (c *infoCache) put(name string, e cachedGem) {
	if c.max <= 0 || e.doc.etag == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.docs[name]; !ok && len(c.docs) >= c.max {
		for k := range c.docs {
			delete(c.docs, k)
			break
		}
	}
	c.docs[name] = e
}

// loadGem returns the current document of a gem, from the cache when it
// holds the current version (one stat), else read (and cached). A missing
// gem is ErrNotFound.
func (h *Handler) loadGem(ctx context.Context, name string) (cachedGem, error) {
	st, err := h.deps.Storage.Stat(ctx, gemKey(name))
	if errors.Is(err, core.ErrNotFound) {
		return cachedGem{}, fmt.Errorf("%w: gem %s", core.ErrNotFound, name)
	}
	if err == nil {
		if e, ok := h.infos.get(name, st.ETag); ok {
			return e, nil
		}
	}
	ed, info, err := core.GetEntryDoc[gemHead](ctx, h.deps.Storage, gemKey(name))
	if errors.Is(err, core.ErrNotFound) {
		return cachedGem{}, fmt.Errorf("%w: gem %s", core.ErrNotFound, name)
	}
	if err != nil {
		return cachedGem{}, fmt.Errorf("read gem %s: %w", name, err)
	}
	// EntryDoc builds its index on the first Get: build it now, before
	// the document is shared by concurrent requests, which then only read.
	ed.Get("")
	e := cachedGem{doc: gemDoc{etag: info.ETag, ed: ed}}
	h.infos.put(name, e)
	return e, nil
}

// loadInfo returns the gem's document with its info file rendered.
func (h *Handler) loadInfo(ctx context.Context, name string) (cachedGem, error) {
	e, err := h.loadGem(ctx, name)
	if err != nil || e.info != nil {
		return e, err
	}
	recs, err := e.doc.records()
	if err != nil {
		return cachedGem{}, fmt.Errorf("read gem %s: %w", name, err)
	}
	e.info = renderInfo(recs)
	h.infos.put(name, e)
	return e, nil
}

// addVersion lists a stored .gem in its gem's document, if its version
// and platform are new: the same bytes listed already are
// core.ErrAlreadyListed (a retry), other bytes ErrRepush.
func (h *Handler) addVersion(ctx context.Context, rec versionRecord) (gemDoc, error) {
	data, err := json.Marshal(rec)
	if err != nil {
		return gemDoc{}, err
	}
	id := versionID(rec.Version, rec.Platform)
	ed, info, err := core.UpdateEntryDoc(ctx, h.deps.Storage, gemKey(rec.Name), func(ed *core.EntryDoc[gemHead], _ bool) error {
		if old, ok := ed.Get(id); ok {
			var cur versionRecord
			if json.Unmarshal(old, &cur) == nil && cur.SHA256 == rec.SHA256 && !cur.Yanked {
				return core.ErrAlreadyListed
			}
			return fmt.Errorf("%w (%s)", ErrRepush, rec.FullName())
		}
		ed.Head.Name = rec.Name
		ed.Head.Serial++
		return ed.Set(id, data)
	})
	if err != nil {
		return gemDoc{}, err
	}
	return gemDoc{etag: info.ETag, ed: ed}, nil
}

// listsObject reports whether the gem's document lists version id stored
// under object.
func (h *Handler) listsObject(ctx context.Context, name, id, object string) (bool, error) {
	ed, _, err := core.GetEntryDoc[gemHead](ctx, h.deps.Storage, gemKey(name))
	if err != nil {
		return false, err
	}
	r, err := gemDoc{ed: ed}.record(id)
	return err == nil && r != nil && r.Object == object, err
}

// setYanked yanks or unyanks one version (platform) of a gem.
func (h *Handler) setYanked(ctx context.Context, name, id string, yanked bool) error {
	ctx = core.WithObject(ctx, core.ObjectRef{Kind: core.KindMetadata, Package: name, Version: id})
	_, _, err := core.UpdateEntryDoc(ctx, h.deps.Storage, gemKey(name), func(ed *core.EntryDoc[gemHead], exists bool) error {
		r, err := gemDoc{ed: ed}.record(id)
		if err != nil {
			return err
		}
		if !exists || r == nil {
			return fmt.Errorf("%w: %s version %s", core.ErrNotFound, name, id)
		}
		if r.Yanked == yanked {
			return core.ErrNoChange
		}
		r.Yanked = yanked
		data, err := json.Marshal(r)
		if err != nil {
			return err
		}
		ed.Head.Serial++
		return ed.Set(id, data)
	})
	if errors.Is(err, core.ErrNoChange) {
		return nil
	}
	return err
}
