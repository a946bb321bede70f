package cargo

import "net/http"

// addRoutes declares every endpoint, relative to the base path (the index
// root cargo is configured with: index = "sparse+<base>/"). GET routes also
// serve HEAD. The first matching pattern wins, so the web API comes before
// the index files, whose paths have the same shape.
func (h *Handler) addRoutes() {
	t := &h.routes
	t.Add(http.MethodGet, "/config.json", h.config)
	t.Add(http.MethodGet, "/me", h.me)
	// Web API.
	t.Add(http.MethodPut, "/api/v1/crates/new", h.publish)
	t.Add(http.MethodGet, "/api/v1/crates", h.searchCrates)
	t.Add(http.MethodGet, "/api/v1/crates/{name}/{version}/download", h.download)
	t.Add(http.MethodDelete, "/api/v1/crates/{name}/{version}/yank", h.yank)
	t.Add(http.MethodPut, "/api/v1/crates/{name}/{version}/unyank", h.unyank)
	t.Add(http.MethodGet, "/api/v1/crates/{name}/owners", h.listOwners)
	t.Add(http.MethodPut, "/api/v1/crates/{name}/owners", h.addOwners)
	t.Add(http.MethodDelete, "/api/v1/crates/{name}/owners", h.removeOwners)
	t.Add(http.MethodDelete, "/api/v1/crates/{name}/{version}", h.deleteVersion)
	// Sparse index files: 1/a, 2/ab, 3/a/abc, ab/cd/abcd….
	t.Add(http.MethodGet, "/{a}/{name}", h.indexFile)
	t.Add(http.MethodGet, "/{a}/{b}/{name}", h.indexFile)
}
