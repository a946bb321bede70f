package oci

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
)

// tagList is the body of GET /v2/<name>/tags/list.
type tagList struct {
	Name string   `json:"name"`
	Tags []string `json:"tags"`
}

// referrersIndex is the body of GET /v2/<name>/referrers/<digest>.
type referrersIndex struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []Descriptor `json:"manifests"`
}

// listTags serves the tags of a repository in lexical order, n at a time
// after last, with a Link header to the next page.
func (h *Handler) listTags(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	name := p["name"]
	if _, err := h.authorize(ctx, req, name, core.ActionRead); err != nil {
		return nil, err
	}
	n, err := pageSize(req)
	if err != nil {
		return nil, err
	}
	last := req.Query.Get("last")
	if last != "" && !ValidTag(last) {
		// It would reach the storage listing as a key to start after.
		return nil, fmt.Errorf("%w: last=%q is not a tag", core.ErrInvalidArgument, last)
	}
	if ok, err := h.proxied(ctx, name); err != nil {
		return nil, err
	} else if ok {
		return h.listUpstreamTags(ctx, req, name, n, last)
	}
	prefix := tagsPrefix(name)
	list := tagList{Name: name, Tags: []string{}}
	opts := core.ListOptions{}
	if last != "" {
		opts.StartAfter = prefix + last
	}
	more := false
	for n != 0 {
		if n > 0 {
			opts.Limit = n - len(list.Tags)
		}
		page, err := h.deps.Storage.List(ctx, prefix, opts)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Objects {
			list.Tags = append(list.Tags, strings.TrimPrefix(o.Key, prefix))
		}
		if page.NextStartAfter == "" {
			break
		}
		if n > 0 && len(list.Tags) >= n {
			more = true
			break
		}
		opts.StartAfter = page.NextStartAfter
	}
	if len(list.Tags) == 0 {
		exists, err := h.repoExists(ctx, name)
		if err != nil {
			return nil, err
		}
		if !exists {
			return nil, fmt.Errorf("%w: %s", ErrNameUnknown, name)
		}
	}
	resp := core.JSONResponse(http.StatusOK, list)
	if more {
		setNextLink(resp, req, "/v2/"+name+"/tags/list", n, list.Tags[len(list.Tags)-1])
	}
	return resp, nil
}

// pageSize returns a listing's ?n= page size, -1 when not given.
func pageSize(req *core.RequestContext) (int, error) {
	v := req.Query.Get("n")
	if v == "" {
		return -1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: n=%q", core.ErrInvalidArgument, v)
	}
	return n, nil
}

// setNextLink sets the Link header to the next page of a listing at path
// (below the base URL): n entries after last.
func setNextLink(resp *core.Response, req *core.RequestContext, path string, n int, last string) {
	q := url.Values{"n": {strconv.Itoa(n)}, "last": {last}}
	resp.Header.Set("Link", fmt.Sprintf(`<%s%s?%s>; rel="next"`, req.BaseURL, path, q.Encode()))
}

// repoExists reports whether anything was pushed to repository name.
func (h *Handler) repoExists(ctx context.Context, name string) (bool, error) {
	page, err := h.deps.Storage.List(ctx, repoKey(name)+"_", core.ListOptions{Limit: 1})
	if err != nil {
		return false, err
	}
	return len(page.Objects) > 0, nil
}

// listReferrers serves the manifests whose subject is a digest, as an
// image index, optionally only those of one artifactType.
func (h *Handler) listReferrers(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
	name := p["name"]
	if h.cfg.DisableReferrers {
		return nil, fmt.Errorf("%w: the referrers API is disabled", core.ErrNotFound)
	}
	if _, err := h.authorize(ctx, req, name, core.ActionRead); err != nil {
		return nil, err
	}
	subject, err := ParseDigest(p["digest"])
	if err != nil {
		return nil, err
	}
	artifactType := req.Query.Get("artifactType")
	idx := referrersIndex{SchemaVersion: 2, MediaType: MediaTypeImageIndex, Manifests: []Descriptor{}}
	err = h.deps.Storage.Walk(ctx, referrersPrefix(name, subject), func(o core.ObjectInfo) error {
		var d Descriptor
		if _, err := core.GetJSON(ctx, h.deps.Storage, o.Key, &d); err != nil {
			if errors.Is(err, core.ErrNotFound) {
				return nil
			}
			return err
		}
		if artifactType == "" || d.ArtifactType == artifactType {
			idx.Manifests = append(idx.Manifests, d)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list referrers of %s: %w", subject, err)
	}
	resp := core.JSONResponse(http.StatusOK, idx)
	resp.Header.Set("Content-Type", MediaTypeImageIndex)
	if artifactType != "" {
		resp.Header.Set("OCI-Filters-Applied", "artifactType")
	}
	return resp, nil
}
