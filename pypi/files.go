package pypi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
)

// fileParams validates /packages/{project}/{filename}: the normalized
// project, the distribution's file name, and whether the core metadata
// (<filename>.metadata) was asked for.
func fileParams(p route.Params) (project, filename string, metadata bool, err error) {
	if _, project, err = projectParam(p); err != nil {
		return "", "", false, err
	}
	filename, metadata = strings.CutSuffix(p["filename"], ".metadata")
	if _, err := ParseFilename(filename); err != nil {
		return "", "", false, fmt.Errorf("%w: %w", core.ErrNotFound, err)
	}
	return project, filename, metadata, nil
}

// download streams a distribution, or its core metadata, with its length.
func (h *Handler) download(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	project, filename, metadata, err := fileParams(p)
	if err != nil {
		return nil, err
	}
	if _, err := h.authorize(ctx, req, project, core.ActionRead); err != nil {
		return nil, err
	}
	rec, err := h.listedFile(ctx, project, filename)
	if h.proxiedProject(ctx, project, err) || h.mergedFile(ctx, project, filename, err) {
		return h.upstreamDownload(ctx, req, project, filename, metadata)
	}
	if err != nil {
		return nil, err
	}
	key, ct := fileKey(project, rec.Object), "application/octet-stream"
	if metadata {
		key, ct = metadataKey(project, rec.Object), "text/plain; charset=utf-8"
	}
	if req.Method == http.MethodHead {
		info, err := h.deps.Storage.Stat(ctx, key)
		if err != nil {
			return nil, fileError(filename, err)
		}
		return core.StreamResponse(http.StatusOK, ct, nil, info.Size), nil
	}
	rc, info, err := h.deps.Storage.Get(ctx, key, nil)
	if err != nil {
		return nil, fileError(filename, err)
	}
	resp := core.StreamResponse(http.StatusOK, ct, rc, info.Size)
	if info.ETag != "" {
		resp.Header.Set("ETag", `"`+strings.Trim(info.ETag, `"`)+`"`)
	}
	return resp, nil
}

// listedFile returns the record of a file the project's document lists:
// only such files are served. A cached document that lists it is trusted
// without reading the document again, since an object id is never reused
// (a file deleted since has lost its object too).
func (h *Handler) listedFile(ctx context.Context, project, filename string) (fileRecord, error) {
	if e, ok := h.docs.latest(project); ok {
		if f, err := fileOf(e.ed, filename); err == nil && f != nil {
			return *f, nil
		}
	}
	e, err := h.loadEntryDoc(ctx, project)
	if err != nil {
		return fileRecord{}, fileError(filename, err)
	}
	f, err := fileOf(e.ed, filename)
	if err != nil {
		return fileRecord{}, err
	}
	if f == nil {
		return fileRecord{}, fmt.Errorf("%w: file %s", core.ErrNotFound, filename)
	}
	return *f, nil
}

func fileError(filename string, err error) error {
	if errors.Is(err, core.ErrNotFound) {
		return fmt.Errorf("%w: file %s", core.ErrNotFound, filename)
	}
	return fmt.Errorf("read %s: %w", filename, err)
}

// deletedResponse lists what a delete removed.
type deletedResponse struct {
	Project string   `json:"project"`
	Deleted []string `json:"deleted"`
}

// deleteFile removes one file: DELETE /packages/<project>/<filename>.
func (h *Handler) deleteFile(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	project, filename, metadata, err := fileParams(p)
	if err != nil {
		return nil, err
	}
	if metadata {
		return nil, fmt.Errorf("%w: delete the file, not its metadata", core.ErrInvalidArgument)
	}
	if _, err := h.authorize(ctx, req, project, core.ActionDelete); err != nil {
		return nil, err
	}
	return h.removeFiles(ctx, project, "file "+filename, func(f fileRecord) bool { return f.Filename == filename })
}

// deleteRelease removes every file of a version: DELETE /<project>/<version>.
func (h *Handler) deleteRelease(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	project, version, err := releaseParams(p)
	if err != nil {
		return nil, err
	}
	if _, err := h.authorize(ctx, req, project, core.ActionDelete); err != nil {
		return nil, err
	}
	return h.removeFiles(ctx, project, "release "+version, func(f fileRecord) bool { return f.Version == version })
}

// removeFiles drops files from the project document first (so no index
// links to them), then deletes their objects, also when the client goes
// away meanwhile: the files are gone from the document already, and
// objects left behind would keep the project in /simple/.
func (h *Handler) removeFiles(ctx context.Context, project, what string, drop func(fileRecord) bool) (*core.Response, error) {
	var removed []fileRecord
	doc, err := h.updateProject(ctx, project, func(doc *projectDoc, exists bool) error {
		if !exists {
			return fmt.Errorf("%w: project %s", core.ErrNotFound, project)
		}
		var err error
		removed, err = doc.removeFiles(what, h.now(), drop)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := deletedResponse{Project: project, Deleted: []string{}}
	for _, f := range removed {
		del := core.WithObject(context.WithoutCancel(ctx), core.ObjectRef{Package: project, Version: f.Version})
		for i, key := range []string{fileKey(project, f.Object), metadataKey(project, f.Object)} {
			kind := core.KindArtifact
			if i == 1 {
				kind = core.KindMetadata
			}
			if err := h.deps.Storage.Delete(core.WithKind(del, kind), key); err != nil {
				return nil, fmt.Errorf("delete file %s: %w", f.Filename, err)
			}
		}
		out.Deleted = append(out.Deleted, f.Filename)
	}
	if len(doc.Files) == 0 {
		if err := h.deps.Storage.Delete(core.WithObject(context.WithoutCancel(ctx), core.ObjectRef{Kind: core.KindIndex, Package: project}), indexKey(project)); err != nil {
			return nil, fmt.Errorf("unindex project %s: %w", project, err)
		}
	}
	h.log.DebugContext(ctx, "pypi delete", "project", project, "files", out.Deleted)
	return core.JSONResponse(http.StatusOK, out), nil
}

// releaseParams validates /{project}/{version}: the normalized project and
// version.
func releaseParams(p route.Params) (project, version string, err error) {
	if _, project, err = projectParam(p); err != nil {
		return "", "", err
	}
	v, err := ParseVersion(p["version"])
	if err != nil {
		return "", "", fmt.Errorf("%w: %w", core.ErrNotFound, err)
	}
	return project, v.String(), nil
}

// yankState is the answer of yank and unyank.
type yankState struct {
	Project      string `json:"project"`
	Version      string `json:"version"`
	Yanked       bool   `json:"yanked"`
	YankedReason string `json:"yanked_reason,omitempty"`
}

// yankRequest is the optional JSON body of a yank.
type yankRequest struct {
	Reason string `json:"reason"`
}

// maxYankBody bounds the JSON body of a yank.
const maxYankBody = 64 << 10

// yank marks a release yanked (PEP 592): PUT /<project>/<version>/yank,
// with an optional reason as {"reason": "..."} or ?reason=.
func (h *Handler) yank(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	reason := req.Query.Get("reason")
	if mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); mt == "application/json" && req.Body != nil {
		var body yankRequest
		if err := json.NewDecoder(io.LimitReader(req.Body, maxYankBody)).Decode(&body); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: yank body: %v", core.ErrInvalidArgument, err)
		}
		if body.Reason != "" {
			reason = body.Reason
		}
	}
	return h.setYanked(ctx, req, p, true, reason)
}

// unyank undoes a yank: DELETE /<project>/<version>/yank.
func (h *Handler) unyank(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	return h.setYanked(ctx, req, p, false, "")
}

func (h *Handler) setYanked(ctx context.Context, req *core.RequestContext, p route.Params, yanked bool, reason string) (*core.Response, error) {
	project, version, err := releaseParams(p)
	if err != nil {
		return nil, err
	}
	if _, err := h.authorize(ctx, req, project, core.ActionWrite); err != nil {
		return nil, err
	}
	_, err = h.updateProject(ctx, project, func(doc *projectDoc, exists bool) error {
		if !exists {
			return fmt.Errorf("%w: project %s", core.ErrNotFound, project)
		}
		return doc.setYanked(version, yanked, reason)
	})
	if err != nil {
		return nil, err
	}
	h.log.DebugContext(ctx, "pypi yank", "project", project, "version", version, "yanked", yanked)
	return core.JSONResponse(http.StatusOK, yankState{Project: project, Version: version, Yanked: yanked, YankedReason: reason}), nil
}
