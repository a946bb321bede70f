package oci

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
)

// maxCatalogPage bounds a page of GET /v2/_catalog; a request without n,
// or with a larger one, gets this many and a Link to the next page.
const maxCatalogPage = 1000

// catalog serves GET /v2/_catalog: the repositories the caller may pull
// from, in lexical order, n at a time after last, with a Link header to
// the next page. With Basic credentials that is every repository the user
// may read; a token-flow JWT lists what it grants pull on, and a token
// asked for "registry:catalog:*" (crane catalog) carries listing scopes
// for its holder's read scopes (see catalogGrants).
func (h *Handler) catalog(ctx context.Context, req *core.RequestContext, _ route.Params) (*core.Response, error) {
	p, err := h.identifyReader(ctx, req, catalogScope)
	if err != nil {
		return nil, err
	}
	n, err := pageSize(req)
	if err != nil {
		return nil, err
	}
	if n < 0 || n > maxCatalogPage {
		n = maxCatalogPage
	}
	list, err := h.listCatalog(ctx, p, req.Query.Get("last"), n)
	if err != nil {
		return nil, err
	}
	more := n > 0 && len(list) > n
	list = list[:min(len(list), n)]
	resp := core.JSONResponse(http.StatusOK, struct {
		Repositories []string `json:"repositories"`
	}{list})
	if more {
		setNextLink(resp, req, "/v2/_catalog", n, list[len(list)-1])
	}
	return resp, nil
}

// listCatalog returns up to n+1 of the repositories after last that the
// caller may list, in lexical order, from the catalog markers.
func (h *Handler) listCatalog(ctx context.Context, p *core.Principal, last string, n int) ([]string, error) {
	list := []string{}
	opts := core.ListOptions{Limit: min(n+1, maxCatalogPage+1)}
	if last != "" {
		opts.StartAfter = catalogMarkerKey(last)
	}
	for {
		page, err := h.deps.Storage.List(ctx, catalogPrefix, opts)
		if err != nil {
			return nil, fmt.Errorf("read catalog: %w", err)
		}
		for _, o := range page.Objects {
			name, ok := catalogName(o.Key)
			if !ok {
				continue
			}
			if h.deps.Auth.Allowed(ctx, p, ociScope(name, core.ActionRead)) || h.deps.Auth.Allowed(ctx, p, listScope(name)) {
				list = append(list, name)
				if len(list) > n {
					return list, nil
				}
			}
		}
		if page.NextStartAfter == "" {
			return list, nil
		}
		opts.StartAfter = page.NextStartAfter
	}
}

// catalogAdd records repository name in the catalog before its first
// content is stored: one marker object per repository, written once, so
// that first pushes of different repositories never contend on one
// object. Each instance remembers the names it has recorded, so that only
// a repository's first push (per instance) costs a write.
func (h *Handler) catalogAdd(ctx context.Context, name string) error {
	if _, ok := h.cataloged.Load(name); ok {
		return nil
	}
	_, err := h.deps.Storage.Put(core.WithKind(ctx, core.KindIndex), catalogMarkerKey(name), bytes.NewReader(nil), 0,
		core.PutOptions{IfAbsent: true})
	if err != nil && !errors.Is(err, core.ErrPreconditionFailed) {
		return fmt.Errorf("add %s to the catalog: %w", name, err)
	}
	h.cataloged.Store(name, struct{}{})
	return nil
}
