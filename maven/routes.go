package maven

import "net/http"

// addRoutes declares every endpoint, relative to the base path. GET routes
// also serve HEAD. The first matching pattern wins: a path ending in "/"
// is a directory listing, any other path a file of the standard layout
// (<group path>/<artifact>/<version>/<file>), a checksum of one
// (<file>.md5, .sha1, .sha256, .sha512), or a maven-metadata.xml at group,
// artifact or SNAPSHOT version level. DELETE removes a file, or with a
// trailing "/" a whole version.
func (h *Handler) addRoutes() {
	t := &h.routes
	t.Add(http.MethodGet, "/", h.listRoot)
	t.Add(http.MethodGet, "/{dir...}/", h.list)
	t.Add(http.MethodDelete, "/{dir...}/", h.deleteVersion)
	t.Add(http.MethodGet, "/{path...}", h.get)
	t.Add(http.MethodPut, "/{path...}", h.put)
	t.Add(http.MethodDelete, "/{path...}", h.deleteFile)
}
