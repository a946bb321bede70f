package pypi

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

// projectHead is the small part of the stored project document (a
// core.EntryDoc at projectKey, one line per file: the file name, then its
// fileRecord as JSON; and one per release: "=<version>", then its
// releaseRecord). An upload decodes only the head and the lines it needs,
// and appends, so its cost does not grow with the number of files.
type projectHead struct {
	Name   string `json:"name"`
	Serial int64  `json:"serial"`
	// Files counts the file entries (the others are releases, whose ids
	// start with releasePrefix).
	Files   int                  `json:"files"`
	Deleted map[string]time.Time `json:"deleted,omitempty"`
}

// projectDoc is a project document decoded whole, as the read APIs, yank
// and delete use it: every file of every release and the release states.
// It is only ever changed through updateProject, so concurrent uploads and
// yanks never lose each other.
type projectDoc struct {
	// Name is the project name as first uploaded (not normalized).
	Name string `json:"name"`
	// Files are in upload order.
	Files []fileRecord `json:"files"`
	// Releases are keyed by normalized version.
	Releases map[string]releaseRecord `json:"releases"`
	// Serial grows with every change (the JSON API's last_serial).
	Serial int64 `json:"serial"`
	// Deleted are the tombstones of deleted files: file name → when it
	// was deleted. As on PyPI, such a name cannot be uploaded again.
	Deleted map[string]time.Time `json:"deleted,omitempty"`
}

// releaseRecord is the state of one version.
type releaseRecord struct {
	Created      time.Time `json:"created"`
	Yanked       bool      `json:"yanked,omitempty"`
	YankedReason string    `json:"yankedReason,omitempty"`
}

// fileRecord describes one stored distribution.
type fileRecord struct {
	Filename string `json:"filename"`
	// Version is normalized.
	Version        string `json:"version"`
	Type           string `json:"type"`
	PythonVersion  string `json:"pythonVersion"`
	RequiresPython string `json:"requiresPython,omitempty"`
	Size           int64  `json:"size"`
	SHA256         string `json:"sha256"`
	MD5            string `json:"md5"`
	BLAKE2b256     string `json:"blake2b256"`
	// MetadataSHA256 is the hash of the core metadata file served at
	// <file>.metadata (PEP 658) and announced as data-core-metadata; set
	// for wheels, and for sdists whose PKG-INFO leaves nothing a resolver
	// reads to the build (Metadata.resolvable).
	MetadataSHA256 string    `json:"metadataSha256,omitempty"`
	UploadTime     time.Time `json:"uploadTime"`
	Comment        string    `json:"comment,omitempty"`
	// Object is the id of the stored file and its metadata (fileKey,
	// metadataKey): unique to the upload that stored them.
	Object string `json:"object"`
}

// loadServedProject reads the document of a normalized project name for
// the read APIs; a missing project is ErrNotFound, and so is one whose
// files were all deleted: it is gone from the index too.
func (h *Handler) loadServedProject(ctx context.Context, project string) (*projectDoc, string, error) {
	doc, etag, err := h.loadProject(ctx, project)
	if err == nil && len(doc.Files) == 0 {
		return nil, "", fmt.Errorf("%w: project %s has no files", core.ErrNotFound, project)
	}
	return doc, etag, err
}

// loadProject reads the document of a normalized project name, also one
// whose files were all deleted and which only keeps their tombstones; a
// missing document is ErrNotFound. Decoded documents are cached by ETag.
func (h *Handler) loadProject(ctx context.Context, project string) (*projectDoc, string, error) {
	e, err := h.loadEntryDoc(ctx, project)
	if err != nil {
		return nil, "", err
	}
	if e.doc == nil {
		if e.doc, err = decodeProjectAfter(e.ed, e.prev); err != nil {
			return nil, "", fmt.Errorf("read project %s: %w", project, err)
		}
		h.docs.put(project, e)
	}
	return e.doc, e.etag, nil
}

// releasePrefix starts the id of a release's entry in the stored document
// ("=<version>"); no file name starts with it.
const releasePrefix = "="

// decodeProjectAfter decodes a stored project document that was written
// after prev (nil: unknown): when its first files are prev's, in order (as
// after uploads, which append), only the files added since are decoded.
func decodeProjectAfter(ed *core.EntryDoc[projectHead], prev *projectDoc) (*projectDoc, error) {
	doc := &projectDoc{Name: ed.Head.Name, Releases: map[string]releaseRecord{}, Serial: ed.Head.Serial,
		Deleted: ed.Head.Deleted, Files: make([]fileRecord, 0, ed.Head.Files)}
	for id, data := range ed.All() {
		if v, ok := strings.CutPrefix(id, releasePrefix); ok {
			var r releaseRecord
			if err := json.Unmarshal(data, &r); err != nil {
				return nil, fmt.Errorf("release %s: %w", v, err)
			}
			doc.Releases[v] = r
			continue
		}
		if i := len(doc.Files); prev != nil && i < len(prev.Files) && prev.Files[i].Filename == id {
			doc.Files = append(doc.Files, prev.Files[i])
			continue
		}
		prev = nil // the files differ from here on: decode the rest
		var f fileRecord
		if err := json.Unmarshal(data, &f); err != nil {
			return nil, fmt.Errorf("file %s: %w", id, err)
		}
		doc.Files = append(doc.Files, f)
	}
	return doc, nil
}

// decodeProject decodes every file and release of a stored project
// document.
func decodeProject(ed *core.EntryDoc[projectHead]) (*projectDoc, error) {
	return decodeProjectAfter(ed, nil)
}

// encodeFiles replaces ed's entries by doc's files and releases, and its
// head by doc's.
func encodeFiles(ed *core.EntryDoc[projectHead], doc *projectDoc) error {
	var gone []string
	for id := range ed.All() {
		v, isRelease := strings.CutPrefix(id, releasePrefix)
		if _, kept := doc.Releases[v]; (isRelease && !kept) || (!isRelease && doc.file(id) == nil) {
			gone = append(gone, id)
		}
	}
	for _, id := range gone {
		ed.Delete(id)
	}
	for v, r := range doc.Releases {
		if err := setJSON(ed, releasePrefix+v, r); err != nil {
			return err
		}
	}
	for _, f := range doc.Files {
		if err := setJSON(ed, f.Filename, f); err != nil {
			return err
		}
	}
	ed.Head = projectHead{Name: doc.Name, Serial: doc.Serial, Files: len(doc.Files), Deleted: doc.Deleted}
	return nil
}

// setJSON stores v as entry id.
func setJSON(ed *core.EntryDoc[projectHead], id string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return ed.Set(id, b)
}

// updateProject applies a pure change to a project's document, decoded
// whole (yank and delete; uploads use addFile, which decodes only the
// head). It returns the document written.
func (h *Handler) updateProject(ctx context.Context, project string, change func(doc *projectDoc, exists bool) error) (*projectDoc, error) {
	var out *projectDoc
	ctx = core.WithObject(ctx, core.ObjectRef{Kind: core.KindMetadata, Package: project})
	_, _, err := core.UpdateEntryDoc(ctx, h.deps.Storage, projectKey(project), func(ed *core.EntryDoc[projectHead], exists bool) error {
		doc, err := decodeProject(ed)
		if err != nil {
			return err
		}
		if err := change(doc, exists); err != nil {
			return err
		}
		doc.Serial++
		out = doc
		return encodeFiles(ed, doc)
	})
	if err != nil {
		return nil, fmt.Errorf("update project %s: %w", project, err)
	}
	return out, nil
}

// addFile lists a stored file in its project's document, if the name is
// free: an identical file already listed under it is core.ErrAlreadyListed
// (a retry), another one ErrFileExists, a deleted one's name
// ErrFileNameReused. Only the document's head is decoded.
func (h *Handler) addFile(ctx context.Context, project, displayName string, rec fileRecord) (*core.EntryDoc[projectHead], core.ObjectInfo, error) {
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, core.ObjectInfo{}, err
	}
	return core.UpdateEntryDoc(ctx, h.deps.Storage, projectKey(project), func(ed *core.EntryDoc[projectHead], _ bool) error {
		hd := &ed.Head
		if old, ok := ed.Get(rec.Filename); ok {
			var cur fileRecord
			if json.Unmarshal(old, &cur) == nil && cur.SHA256 == rec.SHA256 {
				return core.ErrAlreadyListed
			}
			return fmt.Errorf("%w: %s", ErrFileExists, rec.Filename)
		}
		if at, ok := hd.Deleted[rec.Filename]; ok {
			return fmt.Errorf("%w: %s was deleted on %s", ErrFileNameReused, rec.Filename, at.UTC().Format(time.DateOnly))
		}
		if hd.Name == "" {
			hd.Name = displayName
		}
		if _, ok := ed.Get(releasePrefix + rec.Version); !ok {
			if err := setJSON(ed, releasePrefix+rec.Version, releaseRecord{Created: rec.UploadTime}); err != nil {
				return err
			}
		}
		hd.Serial++
		hd.Files++
		return ed.Set(rec.Filename, data)
	})
}

// listsObject reports whether the project's document lists filename
// stored under object id.
func (h *Handler) listsObject(ctx context.Context, project, filename, id string) (bool, error) {
	ed, _, err := core.GetEntryDoc[projectHead](ctx, h.deps.Storage, projectKey(project))
	if err != nil {
		return false, err
	}
	data, ok := ed.Get(filename)
	if !ok {
		return false, nil
	}
	var f fileRecord
	return json.Unmarshal(data, &f) == nil && f.Object == id, nil
}

// file returns the record of filename, or nil.
func (d *projectDoc) file(filename string) *fileRecord {
	for i := range d.Files {
		if d.Files[i].Filename == filename {
			return &d.Files[i]
		}
	}
	return nil
}

// setYanked yanks (with a reason, which may be empty) or unyanks a release.
func (d *projectDoc) setYanked(version string, yanked bool, reason string) error {
	r, ok := d.Releases[version]
	if !ok {
		return fmt.Errorf("%w: release %s", core.ErrNotFound, version)
	}
	if !yanked {
		reason = ""
	}
	if r.Yanked == yanked && r.YankedReason == reason {
		return core.ErrNoChange
	}
	r.Yanked, r.YankedReason = yanked, reason
	d.Releases[version] = r
	return nil
}

// removeFiles drops the files drop selects, leaves a tombstone dated at
// for each, and returns them; a release left without files is dropped too.
// Nothing removed is ErrNotFound.
func (d *projectDoc) removeFiles(what string, at time.Time, drop func(fileRecord) bool) ([]fileRecord, error) {
	var removed []fileRecord
	d.Files = slices.DeleteFunc(d.Files, func(f fileRecord) bool {
		if drop(f) {
			removed = append(removed, f)
			return true
		}
		return false
	})
	if len(removed) == 0 {
		return nil, fmt.Errorf("%w: %s", core.ErrNotFound, what)
	}
	if d.Deleted == nil {
		d.Deleted = map[string]time.Time{}
	}
	for _, f := range removed {
		d.Deleted[f.Filename] = at.UTC()
	}
	for v := range d.Releases {
		if !slices.ContainsFunc(d.Files, func(f fileRecord) bool { return f.Version == v }) {
			delete(d.Releases, v)
		}
	}
	return removed, nil
}

// versions lists the project's versions in PEP 440 order; any that do not
// parse come first, in string order. Each version is parsed once.
func (d *projectDoc) versions() []string {
	type parsed struct {
		s  string
		v  Version
		ok bool
	}
	ps := make([]parsed, 0, len(d.Releases))
	for s := range d.Releases {
		v, err := ParseVersion(s)
		ps = append(ps, parsed{s, v, err == nil})
	}
	slices.SortFunc(ps, func(a, b parsed) int {
		switch {
		case a.ok && b.ok:
			if c := a.v.Compare(b.v); c != 0 {
				return c
			}
		case a.ok != b.ok:
			if a.ok {
				return 1
			}
			return -1
		}
		return strings.Compare(a.s, b.s)
	})
	vs := make([]string, len(ps))
	for i, p := range ps {
		vs[i] = p.s
	}
	return vs
}

// latest is the version the JSON API describes: the highest final release
// not yanked, else the highest not yanked, else the highest.
func (d *projectDoc) latest() string {
	vs := d.versions()
	for _, final := range []bool{true, false} {
		for i := len(vs) - 1; i >= 0; i-- {
			if d.Releases[vs[i]].Yanked {
				continue
			}
			if pv, err := ParseVersion(vs[i]); final && (err != nil || pv.Prerelease()) {
				continue
			}
			return vs[i]
		}
	}
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}
