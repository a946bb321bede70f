package rubygems

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding"
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
// one line per version: its versionID, then its entry, see encodeEntry). A
// push decodes only the head and the line of its own version, and appends,
// and the info file is rendered from the entries without decoding them, so
// that a push's cost does not grow with the number of versions.
type gemHead struct {
	Name   string `json:"name"`
	Serial int64  `json:"serial"`
	// InfoMD5 is the state of an MD5 hash over the gem's info file (in
	// its encoding.BinaryMarshaler form), so that a push learns the file's
	// new MD5, which /versions names, by hashing only the line it appends.
	InfoMD5 []byte `json:"infoMd5,omitempty"`
	// PrevInfoMD5 is the info file's MD5 (hex) before the last change,
	// and Added the version that change appended ("" when it was a yank
	// or unyank): /versions, when it agrees with the document before that
	// change, needs only that version (see diffLine).
	PrevInfoMD5 string `json:"prevInfoMd5,omitempty"`
	Added       string `json:"added,omitempty"`
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
		r, err := decodeEntry(id, data)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, nil
}

// record decodes the version with the given versionID; nil when the
// document has none.
func (d gemDoc) record(id string) (*versionRecord, error) {
	data, ok := d.ed.Get(id)
	if !ok {
		return nil, nil
	}
	return decodeEntry(id, data)
}

// encodeEntry is a version's entry in the gem document: "+" (served) or
// "-" (yanked), its line of the info file, a tab, and the versionRecord
// as JSON (which holds no tab or newline). The info file is the served
// entries' lines, so rendering it decodes no JSON.
func encodeEntry(r *versionRecord) ([]byte, error) {
	js, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	state := byte('+')
	if r.Yanked {
		state = '-'
	}
	line := infoLine(r)
	out := make([]byte, 0, 1+len(line)+1+len(js))
	out = append(out, state)
	out = append(out, line...)
	out = append(out, '\t')
	return append(out, js...), nil
}

// decodeEntry decodes the versionRecord of an entry.
func decodeEntry(id string, data []byte) (*versionRecord, error) {
	_, js, ok := bytes.Cut(data, []byte{'\t'})
	if !ok {
		return nil, fmt.Errorf("version %s: malformed entry", id)
	}
	var r versionRecord
	if err := json.Unmarshal(js, &r); err != nil {
		return nil, fmt.Errorf("version %s: %w", id, err)
	}
	return &r, nil
}

// entryLine returns an entry's info line and whether it is served.
func entryLine(data []byte) (line []byte, served bool) {
	line, _, _ = bytes.Cut(data, []byte{'\t'})
	if len(line) == 0 {
		return nil, false
	}
	return line[1:], line[0] == '+'
}

// infoFile is the rendered /info/<gem> file of one gem document.
type infoFile struct {
	body   []byte
	md5    string // hex
	sha256 []byte
}

// infoHeader starts every info file.
const infoHeader = "---\n"

// extendMD5 returns the MD5 state after b is hashed on from state (nil:
// an info file with only its header).
func extendMD5(state, b []byte) ([]byte, error) {
	h := md5.New()
	if state == nil {
		h.Write([]byte(infoHeader))
	} else if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		return nil, fmt.Errorf("info file hash state: %w", err)
	}
	h.Write(b)
	return h.(encoding.BinaryMarshaler).MarshalBinary()
}

// infoMD5State hashes a document's info file from scratch (after a yank
// or unyank, which change lines in the middle).
func infoMD5State(ed *core.EntryDoc[gemHead]) ([]byte, error) {
	h := md5.New()
	h.Write([]byte(infoHeader))
	for _, data := range ed.All() {
		if line, ok := entryLine(data); ok {
			h.Write(line)
			h.Write([]byte{'\n'})
		}
	}
	return h.(encoding.BinaryMarshaler).MarshalBinary()
}

// servedOf is what a document's info file serves, from its entries'
// first bytes and the hash state in its head: nothing is decoded or
// rendered, and the entries are looked at only when ids is called.
func servedOf(d gemDoc) (*served, error) {
	state := d.ed.Head.InfoMD5
	if state == nil {
		var err error
		if state, err = infoMD5State(d.ed); err != nil {
			return nil, err
		}
	}
	sum, err := md5Hex(state)
	if err != nil {
		return nil, err
	}
	return &served{md5: sum, prevMD5: d.ed.Head.PrevInfoMD5, added: d.ed.Head.Added, ids: func() []string {
		var ids []string
		for id, data := range d.ed.All() {
			if _, ok := entryLine(data); ok {
				ids = append(ids, id)
			}
		}
		return ids
	}}, nil
}

// md5Hex is the hex MD5 of an MD5 hash state.
func md5Hex(state []byte) (string, error) {
	h := md5.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		return "", fmt.Errorf("info file hash state: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// recordChange notes in the head what a change does to the info file: the
// MD5 before it, and the version it appends ("" for a yank or unyank).
func recordChange(h *gemHead, added string) error {
	prev := ""
	if h.InfoMD5 != nil {
		var err error
		if prev, err = md5Hex(h.InfoMD5); err != nil {
			return err
		}
	}
	h.PrevInfoMD5, h.Added = prev, added
	return nil
}

// renderInfo renders the compact index's info file of a gem: "---", then
// the line of each version not yanked (see infoLine), in push order.
func renderInfo(d gemDoc) *infoFile {
	f := &infoFile{}
	n := len(infoHeader)
	for _, data := range d.ed.All() {
		n += len(data)
	}
	body := make([]byte, 0, n)
	body = append(body, infoHeader...)
	for _, data := range d.ed.All() {
		line, served := entryLine(data)
		if !served {
			continue
		}
		body = append(body, line...)
		body = append(body, '\n')
	}
	f.body = body
	m := md5.Sum(f.body)
	f.md5 = hex.EncodeToString(m[:])
	s := sha256.Sum256(f.body)
	f.sha256 = s[:]
	return f
}

// infoLine is a version's line in the info file:
//
//	<version>[-<platform>] <dep>:<req>&<req>,<dep>:<req>|checksum:<sha256>,ruby:<req>,rubygems:<req>
func infoLine(r *versionRecord) string {
	var b strings.Builder
	b.WriteString(versionID(r.Version, r.Platform))
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
	return b.String()
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
	return h.cacheGem(name, gemDoc{etag: info.ETag, ed: ed}), nil
}

// cacheGem caches a gem document just read or written.
func (h *Handler) cacheGem(name string, doc gemDoc) cachedGem {
	// EntryDoc builds its index on the first Get: build it now, before
	// the document is shared by concurrent requests, which then only read.
	doc.ed.Get("")
	e := cachedGem{doc: doc}
	h.infos.put(name, e)
	return e
}

// loadInfo returns the gem's document with its info file rendered.
func (h *Handler) loadInfo(ctx context.Context, name string) (cachedGem, error) {
	e, err := h.loadGem(ctx, name)
	if err != nil || e.info != nil {
		return e, err
	}
	e.info = renderInfo(e.doc)
	h.infos.put(name, e)
	return e, nil
}

// addVersion lists a stored .gem in its gem's document, if its version
// and platform are new: the same bytes listed already are
// core.ErrAlreadyListed (a retry), other bytes ErrRepush.
func (h *Handler) addVersion(ctx context.Context, rec versionRecord) (gemDoc, error) {
	data, err := encodeEntry(&rec)
	if err != nil {
		return gemDoc{}, err
	}
	id := versionID(rec.Version, rec.Platform)
	ed, info, err := core.UpdateEntryDoc(ctx, h.deps.Storage, gemKey(rec.Name), func(ed *core.EntryDoc[gemHead], _ bool) error {
		if old, ok := ed.Get(id); ok {
			if cur, err := decodeEntry(id, old); err == nil && cur.SHA256 == rec.SHA256 && !cur.Yanked {
				return core.ErrAlreadyListed
			}
			return fmt.Errorf("%w (%s)", ErrRepush, rec.FullName())
		}
		if err := recordChange(&ed.Head, id); err != nil {
			return err
		}
		state, err := extendMD5(ed.Head.InfoMD5, []byte(infoLine(&rec)+"\n"))
		if err != nil {
			return err
		}
		ed.Head.Name, ed.Head.InfoMD5 = rec.Name, state
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
		data, err := encodeEntry(r)
		if err != nil {
			return err
		}
		ed.Head.Serial++
		if err := recordChange(&ed.Head, ""); err != nil {
			return err
		}
		if err := ed.Set(id, data); err != nil {
			return err
		}
		ed.Head.InfoMD5, err = infoMD5State(ed)
		return err
	})
	if errors.Is(err, core.ErrNoChange) {
		return nil
	}
	return err
}
