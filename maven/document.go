package maven

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

// artifactHead is the small part of the artifact document (a core.EntryDoc
// at artifactKey, one line per version: the version, then its
// versionRecord). A deploy of a new version decodes only the head and
// appends a line, so its cost does not grow with the number of versions.
type artifactHead struct {
	Group    string `json:"group"`
	Artifact string `json:"artifact"`
	// Latest is the version deployed last, Release the release (not
	// SNAPSHOT) version deployed last: what Maven's own metadata merge
	// records.
	Latest      string    `json:"latest,omitempty"`
	Release     string    `json:"release,omitempty"`
	LastUpdated time.Time `json:"lastUpdated"`
}

// versionRecord is one version of an artifact.
type versionRecord struct {
	Created time.Time `json:"created"`
}

// versionHead is the small part of the version document (a core.EntryDoc
// at versionKey, one line per file: the file name, then its fileRecord).
type versionHead struct {
	Group       string    `json:"group"`
	Artifact    string    `json:"artifact"`
	Version     string    `json:"version"`
	LastUpdated time.Time `json:"lastUpdated"`
}

// fileRecord describes one stored file.
type fileRecord struct {
	Size   int64  `json:"size"`
	MD5    string `json:"md5"`
	SHA1   string `json:"sha1"`
	SHA256 string `json:"sha256"`
	SHA512 string `json:"sha512"`
	// Object is the id of the stored bytes (fileKey): unique to the
	// upload that stored them.
	Object   string    `json:"object"`
	Uploaded time.Time `json:"uploaded"`
}

// checksum returns the hex digest of alg.
func (f fileRecord) checksum(alg string) string {
	switch alg {
	case "md5":
		return f.MD5
	case "sha1":
		return f.SHA1
	case "sha256":
		return f.SHA256
	case "sha512":
		return f.SHA512
	}
	return ""
}

// sameBytes reports whether two records hold the same content.
func (f fileRecord) sameBytes(o fileRecord) bool {
	return f.Size == o.Size && f.SHA256 == o.SHA256 && f.SHA512 == o.SHA512
}

// fileOf returns the record of file in a version document.
func fileOf(ed *core.EntryDoc[versionHead], file string) (fileRecord, bool, error) {
	data, ok := ed.Get(file)
	if !ok {
		return fileRecord{}, false, nil
	}
	var f fileRecord
	if err := json.Unmarshal(data, &f); err != nil {
		return fileRecord{}, false, fmt.Errorf("file %s: %w", file, err)
	}
	return f, true, nil
}

// ErrReleaseExists refuses a second deploy of a release file with other
// bytes.
var ErrReleaseExists = fmt.Errorf("%w: release files are immutable", core.ErrConflict)

// added is what a file's commit changed: the objects it unlisted (a
// replaced file, pruned SNAPSHOT builds), to delete once the deploy is
// done, and the entries they had, to put back if it is rolled back.
type added struct {
	unlisted []string
	removed  map[string][]byte
	// first: the version document listed no file before; retry: it
	// listed this file with the same bytes already.
	first, retry bool
}

// addFile lists a file in its version document with one conditional
// update: core.ErrAlreadyListed when the same bytes are listed already,
// ErrReleaseExists when other bytes are and the version is a release
// (unless AllowRedeploy). A SNAPSHOT keeps its newest SnapshotBuilds
// timestamped builds; older ones are unlisted.
func (h *Handler) addFile(ctx context.Context, c Coordinates, fn FileName, rec fileRecord) (added, error) {
	var out added
	_, _, err := core.UpdateEntryDoc(ctx, h.deps.Storage, versionKey(c.Group, c.Artifact, c.Version),
		func(ed *core.EntryDoc[versionHead], _ bool) error {
			out = added{removed: map[string][]byte{}}
			old, ok, err := fileOf(ed, c.File)
			if err != nil {
				return err
			}
			if ok && old.sameBytes(rec) {
				out.retry = true
				return core.ErrAlreadyListed
			}
			out.first = ed.Len() == 0
			if ok && !IsSnapshot(c.Version) && !h.cfg.AllowRedeploy {
				return fmt.Errorf("%w: %s is deployed already with other content", ErrReleaseExists, c.Path())
			}
			if ok {
				out.unlisted = append(out.unlisted, old.Object)
				data, _ := ed.Get(c.File)
				out.removed[c.File] = data
			}
			b, err := json.Marshal(rec)
			if err != nil {
				return err
			}
			if err := ed.Set(c.File, b); err != nil {
				return err
			}
			ed.Head = versionHead{Group: c.Group, Artifact: c.Artifact, Version: c.Version, LastUpdated: rec.Uploaded}
			if fn.Build != "" {
				pruned, err := pruneBuilds(ed, c, h.cfg.SnapshotBuilds)
				if err != nil {
					return err
				}
				for name, data := range pruned {
					out.removed[name] = data
					var f fileRecord
					if err := json.Unmarshal(data, &f); err != nil {
						return fmt.Errorf("file %s: %w", name, err)
					}
					out.unlisted = append(out.unlisted, f.Object)
				}
			}
			return nil
		})
	return out, err
}

// pruneBuilds removes from a SNAPSHOT's version document the files of all
// but the newest keep timestamped builds, and returns their entries.
func pruneBuilds(ed *core.EntryDoc[versionHead], c Coordinates, keep int) (map[string][]byte, error) {
	builds := map[string]bool{}
	for name := range ed.All() {
		if fn, err := ParseFileName(c.Artifact, c.Version, name); err == nil && fn.Build != "" {
			builds[fn.Build] = true
		}
	}
	if len(builds) <= keep {
		return nil, nil
	}
	order := make([]string, 0, len(builds))
	for b := range builds {
		order = append(order, b)
	}
	slices.SortFunc(order, compareBuilds)
	old := map[string]bool{}
	for _, b := range order[:len(order)-keep] {
		old[b] = true
	}
	gone := map[string][]byte{}
	for name, data := range ed.All() {
		if fn, err := ParseFileName(c.Artifact, c.Version, name); err == nil && old[fn.Build] {
			gone[name] = data
		}
	}
	for name := range gone {
		ed.Delete(name)
	}
	return gone, nil
}

// rollbackFile undoes addFile when the deploy cannot finish (the artifact
// document refused the version): if the version document still lists
// object under the file's name, the entries the commit removed are put
// back, and the file is unlisted unless it replaced one.
func (h *Handler) rollbackFile(ctx context.Context, c Coordinates, object string, a added) error {
	_, _, err := core.UpdateEntryDoc(ctx, h.deps.Storage, versionKey(c.Group, c.Artifact, c.Version),
		func(ed *core.EntryDoc[versionHead], exists bool) error {
			f, ok, err := fileOf(ed, c.File)
			if err != nil {
				return err
			}
			if !exists || !ok || f.Object != object {
				return core.ErrNoChange
			}
			ed.Delete(c.File)
			for name, data := range a.removed {
				if err := ed.Set(name, data); err != nil {
					return err
				}
			}
			return nil
		})
	return err
}

// compareBuilds orders timestamped SNAPSHOT builds oldest first: by build
// number, then timestamp.
func compareBuilds(a, b string) int {
	return cmp.Or(cmp.Compare(BuildNumber(a), BuildNumber(b)), strings.Compare(a, b))
}

// listsObject reports whether the version document lists file with the
// given object (core.Publication.Listed).
func (h *Handler) listsObject(ctx context.Context, c Coordinates, object string) (bool, error) {
	ed, _, err := core.GetEntryDoc[versionHead](ctx, h.deps.Storage, versionKey(c.Group, c.Artifact, c.Version))
	if err != nil {
		return false, err
	}
	f, ok, err := fileOf(ed, c.File)
	return ok && f.Object == object, err
}

// addVersion lists a version in the artifact document, unless it is
// listed already.
func (h *Handler) addVersion(ctx context.Context, group, artifact, version string) error {
	now := h.now().UTC()
	_, _, err := core.UpdateEntryDoc(ctx, h.deps.Storage, artifactKey(group, artifact),
		func(ed *core.EntryDoc[artifactHead], _ bool) error {
			if _, ok := ed.Get(version); ok {
				return core.ErrNoChange
			}
			b, err := json.Marshal(versionRecord{Created: now})
			if err != nil {
				return err
			}
			if err := ed.Set(version, b); err != nil {
				return err
			}
			ed.Head.Group, ed.Head.Artifact, ed.Head.Latest, ed.Head.LastUpdated = group, artifact, version, now
			if !IsSnapshot(version) {
				ed.Head.Release = version
			}
			return nil
		})
	if err != nil {
		return fmt.Errorf("list version %s of %s:%s: %w", version, group, artifact, err)
	}
	return nil
}

// hasFiles reports whether a version document exists and lists a file.
func (h *Handler) hasFiles(ctx context.Context, group, artifact, version string) (bool, error) {
	ed, _, err := core.GetEntryDoc[versionHead](ctx, h.deps.Storage, versionKey(group, artifact, version))
	if errors.Is(err, core.ErrNotFound) {
		return false, nil
	}
	return err == nil && ed.Len() > 0, err
}

// groupDoc is the group document: the plugins of a group, for group-level
// maven-metadata.xml.
type groupDoc struct {
	Group   string   `json:"group"`
	Plugins []Plugin `json:"plugins"`
}
