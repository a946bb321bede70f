package oci

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
)

// startUpload serves POST /v2/<name>/blobs/uploads/: a cross-repository
// mount (?mount=&from=), a monolithic upload (?digest= with the body), or
// the start of a chunked upload (202 with its Location).
func (h *Handler) startUpload(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	name := p["name"]
	principal, err := h.authorize(ctx, req, name, core.ActionWrite)
	if err != nil {
		return nil, err
	}
	if mount := req.Query.Get("mount"); mount != "" {
		resp, ok, err := h.mount(ctx, principal, req, name, mount, req.Query.Get("from"))
		if err != nil {
			return nil, err
		}
		if ok {
			return resp, nil
		}
	}
	var want Digest
	if dg := req.Query.Get("digest"); dg != "" {
		if want, err = ParseDigest(dg); err != nil {
			return nil, err
		}
	}
	id, s, err := h.newUpload(ctx, name, want.Algorithm == "sha512")
	if err != nil {
		return nil, err
	}
	if want.Hex == "" {
		resp := core.NewResponse(http.StatusAccepted)
		h.uploadHeaders(resp, req, name, id, s)
		return resp, nil
	}
	resp, err := h.monolithic(ctx, req, name, id, s, want)
	if err != nil {
		// A refused monolithic upload has no Location to resume at: its data
		// goes now rather than at the stale-upload sweep.
		if derr := h.deleteUpload(ctx, id); derr != nil {
			h.log.WarnContext(ctx, "oci: remove refused upload", "id", id, "error", derr)
		}
		return nil, err
	}
	return resp, nil
}

// monolithic stores the body of a POST with ?digest= as upload id and
// completes it.
func (h *Handler) monolithic(ctx context.Context, req *core.RequestContext, name, id string, s *uploadSession, want Digest) (*core.Response, error) {
	s, err := h.appendChunk(ctx, id, s, req.Body, req.ContentLength)
	if err != nil {
		return nil, err
	}
	return h.complete(ctx, req, name, id, s, want)
}

// mount links blob digest of repository from into name when the caller may
// read from and the blob is visible there. ok is false when the request
// must fall back to a normal upload. A bearer token that was never asked to
// read from gets a challenge for that scope first, so that clients which
// fetch tokens per repository (like the conformance suite) can mount.
func (h *Handler) mount(ctx context.Context, p *core.Principal, req *core.RequestContext, name, digest, from string) (*core.Response, bool, error) {
	d, err := ParseDigest(digest)
	if err != nil || !ValidName(from) {
		return nil, false, nil
	}
	if !h.deps.Auth.Allowed(ctx, p, ociScope(from, core.ActionRead)) {
		if flowToken(req) && !p.AskedFor(ociScope(from, core.ActionRead)) {
			return nil, false, &challengeError{
				err:          fmt.Errorf("%w: mounting needs pull access to %s", core.ErrUnauthorized, from),
				scope:        "repository:" + name + ":pull,push repository:" + from + ":pull",
				insufficient: true,
			}
		}
		return nil, false, nil
	}
	if _, err := h.statBlob(ctx, from, d); err != nil {
		return nil, false, nil
	}
	if err := h.linkBlob(ctx, name, d); err != nil {
		return nil, false, err
	}
	return h.blobCreated(req, name, d), true, nil
}

// uploadStatus serves GET of an upload: 204 with the Range received.
func (h *Handler) uploadStatus(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	s, err := h.openUpload(ctx, req, p)
	if err != nil {
		return nil, err
	}
	resp := core.NewResponse(http.StatusNoContent)
	h.uploadHeaders(resp, req, p["name"], p["id"], s)
	return resp, nil
}

// patchUpload serves PATCH of an upload: one more chunk, which must start
// where the upload ends when Content-Range says where it starts.
func (h *Handler) patchUpload(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	s, err := h.openUpload(ctx, req, p)
	if err != nil {
		return nil, err
	}
	if s, err = h.appendBody(ctx, req, p["id"], s); err != nil {
		return nil, err
	}
	resp := core.NewResponse(http.StatusAccepted)
	h.uploadHeaders(resp, req, p["name"], p["id"], s)
	return resp, nil
}

// finishUpload serves PUT of an upload with ?digest=: an optional last
// chunk, then the digest check and the move into blob storage.
func (h *Handler) finishUpload(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	s, err := h.openUpload(ctx, req, p)
	if err != nil {
		return nil, err
	}
	want, err := ParseDigest(req.Query.Get("digest"))
	if err != nil {
		return nil, err
	}
	if req.ContentLength != 0 {
		if s, err = h.appendBody(ctx, req, p["id"], s); err != nil {
			return nil, err
		}
	}
	return h.complete(ctx, req, p["name"], p["id"], s, want)
}

// openUpload checks that the caller may push to the upload's repository
// and loads the upload's session.
func (h *Handler) openUpload(ctx context.Context, req *core.RequestContext, p route.Params) (*uploadSession, error) {
	if _, err := h.authorize(ctx, req, p["name"], core.ActionWrite); err != nil {
		return nil, err
	}
	return h.loadUpload(ctx, p["name"], p["id"])
}

// appendBody appends the request body to the upload as one chunk, checked
// against its Content-Range.
func (h *Handler) appendBody(ctx context.Context, req *core.RequestContext, id string, s *uploadSession) (*uploadSession, error) {
	length, err := chunkLength(req, s)
	if err != nil {
		return nil, err
	}
	return h.appendChunk(ctx, id, s, req.Body, length)
}

// complete checks the upload against want, stores it as a blob (once per
// digest), links it into the repository and removes the upload.
func (h *Handler) complete(ctx context.Context, req *core.RequestContext, name, id string, s *uploadSession, want Digest) (*core.Response, error) {
	ok, err := h.verifyUpload(ctx, id, s, want)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: the upload's content is not %s", ErrDigestInvalid, want)
	}
	if err := h.storeBlob(ctx, id, s, want); err != nil {
		return nil, err
	}
	if err := h.linkBlob(ctx, name, want); err != nil {
		return nil, err
	}
	if err := h.deleteUpload(ctx, id); err != nil {
		h.log.WarnContext(ctx, "oci: remove finished upload", "id", id, "error", err)
	}
	return h.blobCreated(req, name, want), nil
}

// storeBlob puts a verified upload at its blob key, unless the content is
// there already. A single chunk (what crane, skopeo and docker send) is
// moved into place, so its bytes are written once; several chunks are
// concatenated as a stream.
func (h *Handler) storeBlob(ctx context.Context, id string, s *uploadSession, d Digest) error {
	st := h.deps.Storage
	ctx = core.WithObject(ctx, core.ObjectRef{Kind: core.KindArtifact, Package: s.Repo, Version: d.String()})
	if _, err := st.Stat(ctx, blobKey(d)); err == nil {
		return nil
	} else if !errors.Is(err, core.ErrNotFound) {
		return err
	}
	var err error
	switch len(s.Chunks) {
	case 0:
		_, err = st.Put(ctx, blobKey(d), bytes.NewReader(nil), 0, core.PutOptions{IfAbsent: true})
	case 1:
		_, err = st.Move(ctx, chunkKey(id, s.Chunks[0]), blobKey(d), core.PutOptions{IfAbsent: true})
	default:
		cr := h.chunks(ctx, id, s)
		defer cr.Close()
		_, err = st.Put(ctx, blobKey(d), cr, s.Size, core.PutOptions{IfAbsent: true})
	}
	if errors.Is(err, core.ErrPreconditionFailed) {
		return nil // the same content, stored meanwhile by another upload
	}
	if err != nil {
		return fmt.Errorf("store blob %s: %w", d, err)
	}
	return nil
}

// cancelUpload serves DELETE of an upload.
func (h *Handler) cancelUpload(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	if _, err := h.openUpload(ctx, req, p); err != nil {
		return nil, err
	}
	if err := h.deleteUpload(ctx, p["id"]); err != nil {
		return nil, err
	}
	return core.NewResponse(http.StatusNoContent), nil
}

// chunkLength checks a chunk's Content-Range ("<start>-<end>") against the
// upload and returns the chunk's length, or -1 when unknown.
func chunkLength(req *core.RequestContext, s *uploadSession) (int64, error) {
	length := req.ContentLength
	cr := req.Header.Get("Content-Range")
	if cr == "" {
		return length, nil
	}
	cr = strings.TrimPrefix(strings.TrimPrefix(cr, "bytes "), "bytes=")
	first, last, ok := strings.Cut(cr, "-")
	start, err1 := strconv.ParseInt(first, 10, 64)
	end, err2 := strconv.ParseInt(strings.Split(last, "/")[0], 10, 64)
	// The upload's size after the chunk, end+1, must not overflow: end ==
	// MaxInt64 would wrap the length negative, which the storage takes for
	// "length unknown".
	if !ok || err1 != nil || err2 != nil || start < 0 || end < start || end == math.MaxInt64 {
		return 0, fmt.Errorf("%w: malformed Content-Range %q", ErrRangeInvalid, cr)
	}
	if start != s.Size {
		return 0, fmt.Errorf("%w: chunk starts at %d, the upload is at %d", ErrRangeInvalid, start, s.Size)
	}
	if length >= 0 && length != end-start+1 {
		return 0, fmt.Errorf("%w: Content-Length %d does not match Content-Range %q", ErrSizeInvalid, length, cr)
	}
	return end - start + 1, nil
}

// uploadURL is the Location of an upload.
func uploadURL(req *core.RequestContext, name, id string) string {
	return req.BaseURL + "/v2/" + name + "/blobs/uploads/" + id
}

// uploadHeaders sets the headers of an upload in progress.
func (h *Handler) uploadHeaders(resp *core.Response, req *core.RequestContext, name, id string, s *uploadSession) {
	resp.Header.Set("Location", uploadURL(req, name, id))
	resp.Header.Set("Docker-Upload-UUID", id)
	resp.Header.Set("Range", fmt.Sprintf("0-%d", max(s.Size-1, 0)))
	resp.Header.Set("Content-Length", "0")
}

// blobCreated is the 201 answer to a completed upload or mount.
func (h *Handler) blobCreated(req *core.RequestContext, name string, d Digest) *core.Response {
	resp := core.NewResponse(http.StatusCreated)
	resp.Header.Set("Location", req.BaseURL+"/v2/"+name+"/blobs/"+d.String())
	resp.Header.Set("Docker-Content-Digest", d.String())
	resp.Header.Set("Content-Length", "0")
	return resp
}
