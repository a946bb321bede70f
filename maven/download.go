package maven

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
)

// get serves GET and HEAD of a file, a checksum, or a maven-metadata.xml.
// Only files a version document lists are served; a non-unique SNAPSHOT
// name (app-1.0-SNAPSHOT.jar) serves the newest timestamped build.
func (h *Handler) get(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	segs, err := ParsePath(p["path"])
	if err != nil {
		return nil, err
	}
	last := segs[len(segs)-1]
	base, alg, isSum := splitChecksum(last)
	if base == MetadataFile {
		dir := segs[:len(segs)-1]
		lm, err := h.metadataAt(ctx, req, dir)
		r := lm.r
		switch {
		case err == nil && lm.level == LevelArtifact && h.merging():
			r = h.mergedMetadata(ctx, lm, dir)
		case errors.Is(err, core.ErrNotFound) && h.up != nil:
			if r, err = h.upstreamMetadata(ctx, lm, dir); err != nil {
				return nil, err
			}
		case err != nil:
			return nil, err
		}
		if isSum {
			return checksumResponse(r.checksum(alg)), nil
		}
		resp := core.BytesResponse(http.StatusOK, "text/xml", r.body)
		setValidators(resp, r.sha1, r.modified)
		return resp, nil
	}
	c, err := ParseCoordinates(strings.Join(append(segs[:len(segs)-1:len(segs)-1], base), "/"))
	if err != nil {
		return nil, err
	}
	fn, err := ParseFileName(c.Artifact, c.Version, c.File)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", core.ErrNotFound, err)
	}
	principal, err := h.authorize(ctx, req, c.Group, c.Artifact, core.ActionRead)
	if err != nil {
		return nil, err
	}
	ctx = core.WithObject(ctx, core.ObjectRef{Package: c.Group + ":" + c.Artifact, Version: c.Version})
	rec, err := h.lookupFile(ctx, c, fn)
	if errors.Is(err, core.ErrNotFound) && h.up != nil {
		proxied, perr := h.proxiedFile(ctx, c)
		if perr != nil {
			return nil, perr
		}
		if proxied {
			return h.upstreamFile(ctx, req, principal, c, fn, alg, isSum)
		}
	}
	if err != nil {
		return nil, err
	}
	if isSum {
		return checksumResponse(rec.checksum(alg)), nil
	}
	var resp *core.Response
	if req.Method == http.MethodHead {
		resp = core.StreamResponse(http.StatusOK, contentType(c.File), nil, rec.Size)
	} else {
		rc, info, err := h.deps.Storage.Get(core.WithKind(ctx, core.KindArtifact), fileKey(c.Group, c.Artifact, c.Version, rec.Object), nil)
		if err != nil {
			if errors.Is(err, core.ErrNotFound) {
				// Unlisted (pruned, replaced) since the document was read.
				return nil, fmt.Errorf("%w: %s", core.ErrNotFound, c.Path())
			}
			return nil, fmt.Errorf("read %s: %w", c.Path(), err)
		}
		resp = core.StreamResponse(http.StatusOK, contentType(c.File), rc, info.Size)
	}
	setValidators(resp, rec.SHA1, rec.Uploaded)
	return resp, nil
}

// lookupFile returns the record of a listed file; for a non-unique
// SNAPSHOT file name not listed as such, the newest timestamped build of
// the same classifier and extension.
func (h *Handler) lookupFile(ctx context.Context, c Coordinates, fn FileName) (fileRecord, error) {
	notFound := fmt.Errorf("%w: %s", core.ErrNotFound, c.Path())
	ed, _, err := core.GetEntryDoc[versionHead](core.WithKind(ctx, core.KindMetadata), h.deps.Storage,
		versionKey(c.Group, c.Artifact, c.Version))
	if errors.Is(err, core.ErrNotFound) {
		return fileRecord{}, notFound
	}
	if err != nil {
		return fileRecord{}, fmt.Errorf("read %s: %w", c.Path(), err)
	}
	rec, ok, err := fileOf(ed, c.File)
	if err != nil || ok {
		return rec, err
	}
	if !IsSnapshot(c.Version) || fn.Build != "" {
		return fileRecord{}, notFound
	}
	best, bestName := "", ""
	for name := range ed.All() {
		f, err := ParseFileName(c.Artifact, c.Version, name)
		if err != nil || f.Build == "" || f.Classifier != fn.Classifier || f.Extension != fn.Extension {
			continue
		}
		if best == "" || compareBuilds(f.Build, best) > 0 {
			best, bestName = f.Build, name
		}
	}
	if bestName == "" {
		return fileRecord{}, notFound
	}
	rec, _, err = fileOf(ed, bestName)
	return rec, err
}

// checksumResponse serves a checksum file: the hex digest alone.
func checksumResponse(sum string) *core.Response {
	resp := core.BytesResponse(http.StatusOK, "text/plain; charset=utf-8", []byte(sum))
	setValidators(resp, sum, time.Time{})
	return resp
}

// setValidators sets ETag and, when known, Last-Modified.
func setValidators(resp *core.Response, etag string, modified time.Time) {
	if etag != "" {
		resp.Header.Set("ETag", `"`+etag+`"`)
	}
	if !modified.IsZero() {
		resp.Header.Set("Last-Modified", modified.UTC().Format(http.TimeFormat))
	}
}
