package composer

import "net/http"

// addRoutes declares every endpoint, relative to the base path. GET routes
// also serve HEAD. The first matching pattern wins, so "~dev.json" comes
// before ".json".
func (h *Handler) addRoutes() {
	t := &h.routes
	// Repository metadata (what composer reads).
	t.Add(http.MethodGet, "/packages.json", h.packagesJSON)
	t.Add(http.MethodGet, "/p2/{vendor}/{package}~dev.json", h.devFile)
	t.Add(http.MethodGet, "/p2/{vendor}/{package}.json", h.taggedFile)
	t.Add(http.MethodGet, "/packages/list.json", h.list)
	t.Add(http.MethodGet, "/search.json", h.search)
	// Downloads.
	t.Add(http.MethodGet, "/dists/{vendor}/{package}/{reference}.zip", h.download)
	// Publishing and deleting.
	t.Add(http.MethodPut, "/packages/{vendor}/{package}", h.upload)
	t.Add(http.MethodDelete, "/packages/{vendor}/{package}", h.deletePackage)
	t.Add(http.MethodDelete, "/packages/{vendor}/{package}/{version}", h.deleteVersion)
}
