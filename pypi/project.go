package pypi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

// projectDoc is the per-project document at projectKey: every file of
// every release and the release states. It is only ever changed through
// core.UpdateJSON, so concurrent uploads and yanks never lose each other.
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
// missing document is ErrNotFound.
func (h *Handler) loadProject(ctx context.Context, project string) (*projectDoc, string, error) {
	var doc projectDoc
	etag, err := core.GetJSON(ctx, h.deps.Storage, projectKey(project), &doc)
	if errors.Is(err, core.ErrNotFound) {
		return nil, "", fmt.Errorf("%w: project %s", core.ErrNotFound, project)
	}
	if err != nil {
		return nil, "", fmt.Errorf("read project %s: %w", project, err)
	}
	return &doc, etag, nil
}

// updateProject applies a pure change to a project's document.
func (h *Handler) updateProject(ctx context.Context, project string, change func(doc *projectDoc, exists bool) error) (*projectDoc, error) {
	doc, err := core.UpdateJSON(ctx, h.deps.Storage, projectKey(project), func(doc *projectDoc, exists bool) error {
		if err := change(doc, exists); err != nil {
			return err
		}
		doc.Serial++
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("update project %s: %w", project, err)
	}
	return doc, nil
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

// canAdd refuses a file name already present (ErrFileExists) or present
// once and deleted (ErrFileNameReused).
func (d *projectDoc) canAdd(filename string) error {
	if d.file(filename) != nil {
		return fmt.Errorf("%w: %s", ErrFileExists, filename)
	}
	if at, ok := d.Deleted[filename]; ok {
		return fmt.Errorf("%w: %s was deleted on %s", ErrFileNameReused, filename, at.UTC().Format(time.DateOnly))
	}
	return nil
}

// addFile records a new file, if canAdd allows it.
func (d *projectDoc) addFile(displayName string, rec fileRecord) error {
	if err := d.canAdd(rec.Filename); err != nil {
		return err
	}
	if d.Name == "" {
		d.Name = displayName
	}
	if d.Releases == nil {
		d.Releases = map[string]releaseRecord{}
	}
	if _, ok := d.Releases[rec.Version]; !ok {
		d.Releases[rec.Version] = releaseRecord{Created: rec.UploadTime}
	}
	d.Files = append(d.Files, rec)
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
