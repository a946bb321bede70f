package npm

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
)

// maxSmallBody bounds the JSON bodies of requests other than publishes.
const maxSmallBody = 1 << 20

// readSmallBody reads a request body of at most limit bytes.
func readSmallBody(req *core.RequestContext, limit int64) ([]byte, error) {
	if req.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(req.Body, limit+1))
	if err != nil {
		return nil, errorf(core.ErrInvalidArgument, "read body: %v", err)
	}
	if int64(len(b)) > limit {
		return nil, errorf(core.ErrTooLarge, "the request body is over %d bytes", limit)
	}
	return b, nil
}

// getDistTags serves GET /-/package/<pkg>/dist-tags.
func (h *Handler) getDistTags(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	name := p["pkg"]
	if _, err := h.authorize(ctx, req, name, core.ActionRead); err != nil {
		return nil, err
	}
	doc, _, err := h.loadPackument(ctx, name)
	if err != nil {
		return nil, err
	}
	return jsonOK(doc.Head.DistTags), nil
}

// putDistTag serves PUT /-/package/<pkg>/dist-tags/<tag>; the body is the
// version as a JSON string ("npm dist-tag add").
func (h *Handler) putDistTag(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	name, tag := p["pkg"], p["tag"]
	if _, err := h.authorize(ctx, req, name, core.ActionWrite); err != nil {
		return nil, err
	}
	if !validTag(tag) {
		return nil, errorf(core.ErrInvalidArgument, "invalid tag %q: tags are URL-safe and may not be versions", tag)
	}
	b, err := readSmallBody(req, maxSmallBody)
	if err != nil {
		return nil, err
	}
	var version string
	if err := json.Unmarshal(b, &version); err != nil {
		version = strings.TrimSpace(string(b))
	}
	return h.changeTags(ctx, req.BaseURL, name, func(d *storedPackument) error {
		if !d.hasVersion(version) {
			return errorf(core.ErrNotFound, "version %s of %s not found", version, name)
		}
		if d.Head.DistTags[tag] == version {
			return core.ErrNoChange
		}
		d.Head.DistTags[tag] = version
		return nil
	})
}

// deleteDistTag serves DELETE /-/package/<pkg>/dist-tags/<tag>. The
// "latest" tag cannot be removed.
func (h *Handler) deleteDistTag(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	name, tag := p["pkg"], p["tag"]
	if _, err := h.authorize(ctx, req, name, core.ActionWrite); err != nil {
		return nil, err
	}
	if tag == "latest" {
		return nil, errorf(core.ErrInvalidArgument, "the latest tag cannot be removed")
	}
	return h.changeTags(ctx, req.BaseURL, name, func(d *storedPackument) error {
		if _, ok := d.Head.DistTags[tag]; !ok {
			return errorf(core.ErrNotFound, "tag %s of %s not found", tag, name)
		}
		delete(d.Head.DistTags, tag)
		return nil
	})
}

// changeTags applies change to a package's tags and answers with the
// resulting tags.
func (h *Handler) changeTags(ctx context.Context, base, name string, change func(d *storedPackument) error) (*core.Response, error) {
	doc, err := h.updatePackage(ctx, name, base, func(d *storedPackument, _ time.Time) error { return change(d) })
	if err != nil {
		return nil, err
	}
	h.indexPackage(ctx, doc)
	return jsonOK(doc.Head.DistTags), nil
}

// updatePackage changes an existing package's document in a conditional
// read-modify-write: change gets the current document (with at least one
// version) and the time of the change; unless it fails, the document gets a
// new revision. change may be called more than once, under contention. The
// document written is cached, rendered for base.
func (h *Handler) updatePackage(ctx context.Context, name, base string, change func(d *storedPackument, now time.Time) error) (*storedPackument, error) {
	now := time.Now().UTC()
	ed, info, err := core.UpdateEntryDoc(core.WithObject(ctx, core.ObjectRef{Kind: core.KindMetadata, Package: name}), h.deps.Storage, packumentKey(name), func(ed *core.EntryDoc[packageHead], exists bool) error {
		d := &storedPackument{EntryDoc: ed}
		d.init(name, now)
		if !exists || d.Len() == 0 {
			return errorf(core.ErrNotFound, "package %s not found", name)
		}
		if err := change(d, now); err != nil {
			return err
		}
		d.bump(now)
		return nil
	})
	if err != nil {
		return nil, err
	}
	d := &storedPackument{EntryDoc: ed, size: info.Size}
	h.cached(name, info.ETag, d, base)
	return d, nil
}
