package oci

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
)

// maxCatalogPage bounds a page of GET /v2/_catalog; a request without n,
// or with a larger one, gets this many and a Link to the next page.
const maxCatalogPage = 1000

// catalogIndex is the document at catalogKey: every repository anything
// was ever pushed to, sorted. It is only added to: deleting everything in
// a repository leaves its name listed (as distribution does).
type catalogIndex struct {
	Repositories []string `json:"repositories"`
}

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
	var idx catalogIndex
	if _, err := core.GetJSON(ctx, h.deps.Storage, catalogKey, &idx); err != nil && !errors.Is(err, core.ErrNotFound) {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	last := req.Query.Get("last")
	start, found := slices.BinarySearch(idx.Repositories, last)
	if found {
		start++
	}
	// One repository more than the page asks whether there is a next page.
	list := []string{}
	for _, name := range idx.Repositories[start:] {
		if len(list) > n {
			break
		}
		if h.deps.Auth.Allowed(ctx, p, ociScope(name, core.ActionRead)) || h.deps.Auth.Allowed(ctx, p, listScope(name)) {
			list = append(list, name)
		}
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

// catalogAdd records repository name in the catalog before its first
// content is stored. Each instance remembers the names it has seen listed,
// so that only a repository's first push (per instance) costs a read.
func (h *Handler) catalogAdd(ctx context.Context, name string) error {
	if _, ok := h.cataloged.Load(name); ok {
		return nil
	}
	_, err := core.UpdateJSON(core.WithKind(ctx, core.KindIndex), h.deps.Storage, catalogKey, func(idx *catalogIndex, _ bool) error {
		i, found := slices.BinarySearch(idx.Repositories, name)
		if found {
			return core.ErrNoChange
		}
		idx.Repositories = slices.Insert(idx.Repositories, i, name)
		return nil
	})
	if err != nil {
		return fmt.Errorf("add %s to the catalog: %w", name, err)
	}
	h.cataloged.Store(name, struct{}{})
	return nil
}
