package pypi

import "net/http"

// addRoutes declares every endpoint, relative to the base path. GET routes
// also serve HEAD. The first matching pattern wins, so the simple API comes
// before the JSON API's "/{project}/json". Every route that changes state
// refuses browser requests from other sites (sameSiteOnly).
func (h *Handler) addRoutes() {
	t := &h.routes
	// Simple repository API (PEP 503, 691, 658, 700).
	t.Add(http.MethodGet, "/simple", h.redirectSimpleRoot)
	t.Add(http.MethodGet, "/simple/", h.simpleIndex)
	t.Add(http.MethodGet, "/simple/{project}", h.redirectSimpleProject)
	t.Add(http.MethodGet, "/simple/{project}/", h.simpleProject)
	// Legacy upload API (what twine speaks).
	t.Add(http.MethodPost, "/", sameSiteOnly(h.upload))
	// Files and their core metadata (<filename>.metadata).
	t.Add(http.MethodGet, "/packages/{project}/{filename}", h.download)
	t.Add(http.MethodDelete, "/packages/{project}/{filename}", sameSiteOnly(h.deleteFile))
	// JSON API.
	t.Add(http.MethodGet, "/{project}/json", h.projectJSON)
	t.Add(http.MethodGet, "/{project}/{version}/json", h.releaseJSON)
	// Management: yank, unyank, delete a release.
	t.Add(http.MethodPut, "/{project}/{version}/yank", sameSiteOnly(h.yank))
	t.Add(http.MethodDelete, "/{project}/{version}/yank", sameSiteOnly(h.unyank))
	t.Add(http.MethodDelete, "/{project}/{version}", sameSiteOnly(h.deleteRelease))
}
