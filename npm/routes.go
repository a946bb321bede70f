package npm

import "net/http"

// addRoutes declares every endpoint, relative to the base path. Scoped names
// arrive as one segment ("/@scope%2fpkg"; see canonicalPath). GET routes also
// serve HEAD. The first matching pattern wins, so the "/-/..." endpoints come
// before the package routes.
func (h *Handler) addRoutes() {
	t := &h.routes
	// Service endpoints.
	t.Add(http.MethodGet, "/-/ping", h.ping)
	t.Add(http.MethodGet, "/-/whoami", h.whoami)
	t.Add(http.MethodGet, "/-/v1/search", h.searchPackages)
	t.Add(http.MethodPost, "/-/npm/v1/security/advisories/bulk", h.advisoriesBulk)
	t.Add(http.MethodPost, "/-/npm/v1/security/audits/quick", h.auditQuick)
	t.Add(http.MethodPost, "/-/npm/v1/security/audits", h.auditQuick)
	// Users and tokens.
	t.Add(http.MethodPut, "/-/user/org.couchdb.user:{user}", h.login)
	t.Add(http.MethodPut, "/-/user/org.couchdb.user:{user}/-rev/{rev}", h.login)
	t.Add(http.MethodGet, "/-/user/org.couchdb.user:{user}", h.getUser)
	t.Add(http.MethodGet, "/-/user/{user}/package", h.accessList)
	t.Add(http.MethodGet, "/-/org/{org}/package", h.accessList)
	t.Add(http.MethodGet, "/-/npm/v1/tokens", h.listTokens)
	t.Add(http.MethodPost, "/-/npm/v1/tokens", h.createToken)
	t.Add(http.MethodDelete, "/-/npm/v1/tokens/token/{key}", h.revokeToken)
	t.Add(http.MethodDelete, "/-/user/token/{key}", h.revokeToken) // "npm logout": key is the token itself
	// Dist-tags.
	t.Add(http.MethodGet, "/-/package/{pkg...}/dist-tags", h.getDistTags)
	t.Add(http.MethodPut, "/-/package/{pkg...}/dist-tags/{tag}", h.putDistTag)
	t.Add(http.MethodPost, "/-/package/{pkg...}/dist-tags/{tag}", h.putDistTag)
	t.Add(http.MethodDelete, "/-/package/{pkg...}/dist-tags/{tag}", h.deleteDistTag)
	// Packages: documents, versions, tarballs, publish and unpublish.
	t.Add(http.MethodGet, "/{pkg}", h.getPackument)
	t.Add(http.MethodPut, "/{pkg}", h.putPackage)
	t.Add(http.MethodPut, "/{pkg}/-rev/{rev}", h.putPackage)
	t.Add(http.MethodDelete, "/{pkg}/-rev/{rev}", h.unpublishPackage)
	t.Add(http.MethodGet, "/{pkg}/-/{file}", h.getTarball)
	t.Add(http.MethodDelete, "/{pkg}/-/{file}/-rev/{rev}", h.deleteTarball)
	t.Add(http.MethodGet, "/{pkg}/{version}", h.getVersion)
}
