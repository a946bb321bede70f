package composer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
)

// taggedFile serves GET /p2/<vendor>/<package>.json: the tagged releases.
func (h *Handler) taggedFile(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	return h.metadataFile(ctx, req, p, false)
}

// devFile serves GET /p2/<vendor>/<package>~dev.json: the dev versions.
func (h *Handler) devFile(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	return h.metadataFile(ctx, req, p, true)
}

// metadataFile serves one /p2/ file, with Last-Modified, and 304 to an
// If-Modified-Since not older than the package document. A package
// without versions of the kind asked for has an empty list, one without
// any version is 404.
func (h *Handler) metadataFile(ctx context.Context, req *core.RequestContext, p route.Params, dev bool) (*core.Response, error) {
	name, err := packageParam(p)
	if err != nil {
		return nil, err
	}
	if _, err := h.authorize(ctx, req, name, core.ActionRead); err != nil {
		return nil, err
	}
	r, err := h.load(ctx, name, req.BaseURL)
	if h.proxied(err) {
		return h.upstreamFile(ctx, req, name, dev)
	}
	if err != nil {
		return nil, err
	}
	body := r.tagged
	if dev {
		body = r.dev
	}
	if body == nil {
		nb, _ := json.Marshal(name)
		body = []byte(`{"minified":"composer/2.0","packages":{` + string(nb) + `:[]}}`)
	}
	modified := r.modTime
	if h.merging() {
		if mb, mt, ok := h.mergedFile(ctx, req, name, dev, r); ok {
			body, modified = mb, mt
		}
	}
	return fileResponse(req, body, "", modified), nil
}

// fileResponse serves a /p2/ file with its validators: Last-Modified
// (when modified is known) and ETag (when etag is not ""); 304 when
// If-None-Match matches, or, without it, when If-Modified-Since is not
// older than modified.
func fileResponse(req *core.RequestContext, body []byte, etag string, modified time.Time) *core.Response {
	modified = modified.UTC().Truncate(time.Second)
	fresh := false
	if inm := req.Header.Get("If-None-Match"); inm != "" {
		fresh = etag != "" && inm == etag
	} else if ims, err := http.ParseTime(req.Header.Get("If-Modified-Since")); err == nil && !modified.IsZero() {
		fresh = !modified.After(ims)
	}
	resp := core.NewResponse(http.StatusNotModified)
	if !fresh {
		resp = core.BytesResponse(http.StatusOK, "application/json", body)
	}
	if !modified.IsZero() {
		resp.Header.Set("Last-Modified", modified.Format(http.TimeFormat))
	}
	if etag != "" {
		resp.Header.Set("ETag", etag)
	}
	return resp
}

// download serves GET /dists/<vendor>/<package>/<reference>.zip: the zip
// of the version the document lists with that reference (its sha1),
// streamed from storage with its length.
func (h *Handler) download(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	name, err := packageParam(p)
	if err != nil {
		return nil, err
	}
	if _, err := h.authorize(ctx, req, name, core.ActionRead); err != nil {
		return nil, err
	}
	r, err := h.load(ctx, name, req.BaseURL)
	if h.proxied(err) {
		return h.upstreamDist(ctx, req, name, p["reference"], nil)
	}
	if err != nil {
		return nil, err
	}
	id, ok := r.refs[p["reference"]]
	if !ok && h.merging() {
		return h.upstreamDist(ctx, req, name, p["reference"], r)
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s has no dist %s", core.ErrNotFound, name, p["reference"])
	}
	rec := r.versions[id].rec
	ctx = core.WithObject(ctx, core.ObjectRef{Kind: core.KindArtifact, Package: name, Version: id})
	rc, info, err := h.deps.Storage.Get(ctx, distKey(name, rec.Object), nil)
	if err != nil {
		return nil, fmt.Errorf("read dist of %s %s: %w", name, rec.Version, err)
	}
	resp := core.StreamResponse(http.StatusOK, "application/zip", rc, info.Size)
	resp.Header.Set("Cache-Control", "private, max-age=31536000, immutable")
	return resp, nil
}

// deletePackage serves DELETE /packages/<vendor>/<package>: every version
// goes from the document (which makes them unavailable at once), then their
// zips and the package's marker.
func (h *Handler) deletePackage(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	name, err := packageParam(p)
	if err != nil {
		return nil, err
	}
	return h.remove(ctx, req, name, "")
}

// deleteVersion serves DELETE /packages/<vendor>/<package>/<version>; the
// version may be given as uploaded or normalized.
func (h *Handler) deleteVersion(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	name, err := packageParam(p)
	if err != nil {
		return nil, err
	}
	v, err := NormalizeVersion(p["version"])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", core.ErrNotFound, err)
	}
	return h.remove(ctx, req, name, v)
}

// remove deletes one version (normalized), or all when version is "".
func (h *Handler) remove(ctx context.Context, req *core.RequestContext, name, version string) (*core.Response, error) {
	if _, err := h.authorize(ctx, req, name, core.ActionDelete); err != nil {
		return nil, err
	}
	ctx = core.WithObject(ctx, core.ObjectRef{Kind: core.KindMetadata, Package: name, Version: version})
	var removed []versionRecord
	ed, _, err := core.UpdateEntryDoc(ctx, h.deps.Storage, packageKey(name), func(ed *core.EntryDoc[packageHead], exists bool) error {
		removed = removed[:0]
		var ids []string
		for id, data := range ed.All() {
			if version != "" && id != version {
				continue
			}
			var rec versionRecord
			if err := json.Unmarshal(data, &rec); err != nil {
				return fmt.Errorf("version %s: %w", id, err)
			}
			ids = append(ids, id)
			removed = append(removed, rec)
		}
		if len(ids) == 0 {
			return core.ErrNoChange
		}
		for _, id := range ids {
			ed.Delete(id)
		}
		ed.Head.Serial++
		return nil
	})
	if errors.Is(err, core.ErrNotFound) || (err == nil && len(removed) == 0) {
		what := name
		if version != "" {
			what += " " + version
		}
		return nil, fmt.Errorf("%w: %s", core.ErrNotFound, what)
	}
	if err != nil {
		return nil, fmt.Errorf("update package %s: %w", name, err)
	}
	artifacts := core.WithKind(ctx, core.KindArtifact)
	for _, rec := range removed {
		if err := h.deps.Storage.Delete(artifacts, distKey(name, rec.Object)); err != nil && !errors.Is(err, core.ErrNotFound) {
			h.log.WarnContext(ctx, "composer: cannot delete dist", "package", name, "version", rec.Version, "error", err)
		}
	}
	if ed.Len() == 0 {
		if err := h.deps.Storage.Delete(core.WithKind(ctx, core.KindIndex), indexKey(name)); err != nil && !errors.Is(err, core.ErrNotFound) {
			return nil, fmt.Errorf("unindex package %s: %w", name, err)
		}
	}
	h.index.invalidate()
	return core.JSONResponse(http.StatusOK, map[string]any{"status": "success", "deleted": len(removed)}), nil
}
