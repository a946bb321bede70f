package maven

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
)

// deleteFile serves DELETE of one file of a version directory: the
// version document stops listing it, the artifact document stops listing
// the version when it was its last file, and then the bytes go. It needs
// the delete action on the artifact.
func (h *Handler) deleteFile(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	c, err := ParseCoordinates(p["path"])
	if err != nil {
		return nil, err
	}
	if _, _, isSum := splitChecksum(c.File); isSum || c.File == MetadataFile {
		return nil, fmt.Errorf("%w: checksums and metadata go with their file or version", core.ErrMethodNotAllowed)
	}
	if _, err := h.authorize(ctx, req, c.Group, c.Artifact, core.ActionDelete); err != nil {
		return nil, err
	}
	ctx = core.WithObject(ctx, core.ObjectRef{Package: c.Group + ":" + c.Artifact, Version: c.Version})
	return h.removeFiles(ctx, c, func(name string) bool { return name == c.File })
}

// deleteVersion serves DELETE of a version directory
// (<group path>/<artifact>/<version>/): every file of the version goes.
func (h *Handler) deleteVersion(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	c, err := ParseCoordinates(p["dir"] + "/" + MetadataFile)
	if err != nil {
		return nil, err
	}
	if _, err := h.authorize(ctx, req, c.Group, c.Artifact, core.ActionDelete); err != nil {
		return nil, err
	}
	ctx = core.WithObject(ctx, core.ObjectRef{Package: c.Group + ":" + c.Artifact, Version: c.Version})
	return h.removeFiles(ctx, c, func(string) bool { return true })
}

// removeFiles unlists the files of c's version that match, unlists the
// version when none is left, then deletes the unlisted bytes. An emptied
// version document stays (storage has no conditional delete, and a deploy
// may be adding to it); it lists nothing and serves nothing.
func (h *Handler) removeFiles(ctx context.Context, c Coordinates, match func(name string) bool) (*core.Response, error) {
	var objects []string
	left := 0
	meta := core.WithKind(ctx, core.KindMetadata)
	_, _, err := core.UpdateEntryDoc(meta, h.deps.Storage, versionKey(c.Group, c.Artifact, c.Version),
		func(ed *core.EntryDoc[versionHead], exists bool) error {
			objects, left = nil, 0
			var gone []string
			for name, data := range ed.All() {
				if !match(name) {
					left++
					continue
				}
				var f fileRecord
				if err := json.Unmarshal(data, &f); err != nil {
					return fmt.Errorf("file %s: %w", name, err)
				}
				gone, objects = append(gone, name), append(objects, f.Object)
			}
			if !exists || len(gone) == 0 {
				return fmt.Errorf("%w: %s", core.ErrNotFound, strings.TrimSuffix(c.Path(), "/"+MetadataFile))
			}
			for _, name := range gone {
				ed.Delete(name)
			}
			ed.Head.LastUpdated = h.now().UTC()
			return nil
		})
	if err != nil {
		return nil, err
	}
	if left == 0 {
		if err := h.removeVersion(meta, c.Group, c.Artifact, c.Version); err != nil {
			return nil, err
		}
	}
	gone := core.WithKind(context.WithoutCancel(ctx), core.KindArtifact)
	for _, obj := range objects {
		h.deleteQuietly(gone, fileKey(c.Group, c.Artifact, c.Version, obj))
	}
	return core.NewResponse(http.StatusNoContent), nil
}

// removeVersion unlists a version from the artifact document; latest and
// release fall back to the last listed version and release.
func (h *Handler) removeVersion(ctx context.Context, group, artifact, version string) error {
	_, _, err := core.UpdateEntryDoc(ctx, h.deps.Storage, artifactKey(group, artifact),
		func(ed *core.EntryDoc[artifactHead], _ bool) error {
			if !ed.Delete(version) {
				return core.ErrNoChange
			}
			ed.Head.Latest, ed.Head.Release, ed.Head.LastUpdated = "", "", h.now().UTC()
			for v := range ed.All() {
				ed.Head.Latest = v
				if !IsSnapshot(v) {
					ed.Head.Release = v
				}
			}
			return nil
		})
	if err != nil && !errors.Is(err, core.ErrNotFound) {
		return fmt.Errorf("unlist version %s of %s:%s: %w", version, group, artifact, err)
	}
	return nil
}
