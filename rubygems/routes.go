package rubygems

import "net/http"

// addRoutes declares every endpoint, relative to the base path. GET routes
// also serve HEAD.
func (h *Handler) addRoutes() {
	t := &h.routes
	// The root: gem install asks for it (HEAD) to learn that the source
	// has a compact index, and reads /info/ when it answers.
	t.Add(http.MethodGet, "/", h.root)
	// Compact index (what bundler and gem ≥ 3 read).
	t.Add(http.MethodGet, "/versions", h.versionsIndex)
	t.Add(http.MethodGet, "/names", h.names)
	t.Add(http.MethodGet, "/info/{gem}", h.info)
	// Legacy index (Marshal 4.8).
	t.Add(http.MethodGet, "/specs.4.8.gz", h.specsIndex(specsAll))
	t.Add(http.MethodGet, "/latest_specs.4.8.gz", h.specsIndex(specsLatest))
	t.Add(http.MethodGet, "/prerelease_specs.4.8.gz", h.specsIndex(specsPrerelease))
	t.Add(http.MethodGet, "/quick/Marshal.4.8/{file}", h.quickSpec)
	// Downloads.
	t.Add(http.MethodGet, "/gems/{file}", h.download)
	// API v1.
	t.Add(http.MethodPost, "/api/v1/gems", h.push)
	t.Add(http.MethodDelete, "/api/v1/gems/yank", h.yank)
	t.Add(http.MethodPut, "/api/v1/gems/unyank", h.unyank)
	t.Add(http.MethodGet, "/api/v1/versions/{gem}.json", h.versionsJSON)
	t.Add(http.MethodGet, "/api/v1/gems/{gem}.json", h.gemJSON)
}
