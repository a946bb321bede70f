package oci

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
)

// getBlob serves GET and HEAD of a blob, streamed from storage, with a
// single byte range when asked (206 and Content-Range).
func (h *Handler) getBlob(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	name := p["name"]
	if _, err := h.authorize(ctx, req, name, core.ActionRead); err != nil {
		return nil, err
	}
	d, err := ParseDigest(p["digest"])
	if err != nil {
		return nil, err
	}
	info, err := h.statBlob(ctx, name, d)
	if errors.Is(err, ErrBlobUnknown) {
		if ok, perr := h.proxied(ctx, name); perr != nil {
			return nil, perr
		} else if ok {
			return h.upstreamBlob(ctx, req, name, d)
		}
	}
	if err != nil {
		return nil, err
	}
	return h.serveBlob(ctx, req, d, info)
}

// serveBlob answers GET or HEAD of blob d, described by info, honouring
// a Range header.
func (h *Handler) serveBlob(ctx context.Context, req *core.RequestContext, d Digest, info core.ObjectInfo) (*core.Response, error) {
	rng, err := parseRange(req.Header.Get("Range"), info.Size)
	if err != nil {
		return nil, &rangeError{err: err, size: info.Size}
	}
	status, length := http.StatusOK, info.Size
	if rng != nil {
		status, length = http.StatusPartialContent, rng.Length
	}
	var resp *core.Response
	if req.Method == http.MethodHead {
		resp = core.NewResponse(status)
		resp.Header.Set("Content-Length", strconv.FormatInt(length, 10))
	} else {
		rc, _, err := h.deps.Storage.Get(ctx, blobKey(d), rng)
		if err != nil {
			return nil, blobError(err, d)
		}
		resp = core.StreamResponse(status, "", rc, length)
	}
	blobHeaders(resp, d)
	if rng != nil {
		resp.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", rng.Offset, rng.Offset+rng.Length-1, info.Size))
	}
	return resp, nil
}

// blobHeaders sets the headers of every blob answer.
func blobHeaders(resp *core.Response, d Digest) {
	resp.Header.Set("Content-Type", "application/octet-stream")
	resp.Header.Set("Docker-Content-Digest", d.String())
	resp.Header.Set("Accept-Ranges", "bytes")
	resp.Header.Set("Etag", `"`+d.String()+`"`)
}

// statBlob describes blob d if it is visible in repository name.
func (h *Handler) statBlob(ctx context.Context, name string, d Digest) (core.ObjectInfo, error) {
	if _, err := h.deps.Storage.Stat(ctx, layerLinkKey(name, d)); err != nil {
		return core.ObjectInfo{}, blobError(err, d)
	}
	info, err := h.deps.Storage.Stat(ctx, blobKey(d))
	if err != nil {
		return core.ObjectInfo{}, blobError(err, d)
	}
	return info, nil
}

// blobError turns a storage not-found into BLOB_UNKNOWN.
func blobError(err error, d Digest) error {
	if errors.Is(err, core.ErrNotFound) {
		return fmt.Errorf("%w: %s", ErrBlobUnknown, d)
	}
	return err
}

// linkBlob makes blob d visible in repository name.
func (h *Handler) linkBlob(ctx context.Context, name string, d Digest) error {
	if err := h.catalogAdd(ctx, name); err != nil {
		return err
	}
	ctx = core.WithObject(ctx, core.ObjectRef{Kind: core.KindMetadata, Package: name, Version: d.String()})
	if _, err := h.deps.Storage.Put(ctx, layerLinkKey(name, d), bytes.NewReader(nil), 0, core.PutOptions{}); err != nil {
		return fmt.Errorf("link blob %s into %s: %w", d, name, err)
	}
	return nil
}

// deleteBlob unlinks a blob from a repository. The content stays in
// blobs/ (other repositories may link it); it is no longer served here.
func (h *Handler) deleteBlob(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	name := p["name"]
	if err := h.authorizeDelete(ctx, req, name); err != nil {
		return nil, err
	}
	d, err := ParseDigest(p["digest"])
	if err != nil {
		return nil, err
	}
	if _, err := h.deps.Storage.Stat(ctx, layerLinkKey(name, d)); err != nil {
		return nil, blobError(err, d)
	}
	if err := h.deps.Storage.Delete(core.WithObject(ctx, core.ObjectRef{Kind: core.KindMetadata, Package: name, Version: d.String()}), layerLinkKey(name, d)); err != nil {
		return nil, err
	}
	return core.NewResponse(http.StatusAccepted), nil
}

// parseRange parses a single "bytes=a-b", "bytes=a-" or "bytes=-n" range of
// an object of size bytes; nil means the whole object.
func parseRange(header string, size int64) (*core.ByteRange, error) {
	if header == "" {
		return nil, nil
	}
	spec, ok := strings.CutPrefix(header, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return nil, fmt.Errorf("%w: unsupported Range %q", core.ErrRangeNotSatisfiable, header)
	}
	first, last, ok := strings.Cut(spec, "-")
	if !ok {
		return nil, fmt.Errorf("%w: malformed Range %q", core.ErrRangeNotSatisfiable, header)
	}
	var start, end int64
	var err1, err2 error
	switch {
	case first == "":
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%w: malformed Range %q", core.ErrRangeNotSatisfiable, header)
		}
		start, end = max(size-n, 0), size-1
	case last == "":
		start, err1 = strconv.ParseInt(first, 10, 64)
		end = size - 1
	default:
		start, err1 = strconv.ParseInt(first, 10, 64)
		end, err2 = strconv.ParseInt(last, 10, 64)
		end = min(end, size-1)
	}
	if err1 != nil || err2 != nil || start < 0 || start > end || start >= size {
		return nil, fmt.Errorf("%w: Range %q of %d bytes", core.ErrRangeNotSatisfiable, header, size)
	}
	return &core.ByteRange{Offset: start, Length: end - start + 1}, nil
}
