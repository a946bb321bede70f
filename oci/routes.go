package oci

// addRoutes declares every endpoint of the distribution API. The upload
// routes come before the blob routes: the first match wins. Names may
// contain slashes; {name...} is matched from both ends.
func (h *Handler) addRoutes() {
	t := &h.routes
	t.Add("GET", "/v2", h.base)
	t.Add("GET", "/v2/", h.base)
	t.Add("GET", "/token", h.token)
	t.Add("POST", "/token", h.token)
	t.Add("GET", "/v2/_catalog", h.catalog)

	t.Add("POST", "/v2/{name...}/blobs/uploads/", h.startUpload)
	t.Add("POST", "/v2/{name...}/blobs/uploads", h.startUpload)
	t.Add("GET", "/v2/{name...}/blobs/uploads/{id}", h.uploadStatus)
	t.Add("PATCH", "/v2/{name...}/blobs/uploads/{id}", h.patchUpload)
	t.Add("PUT", "/v2/{name...}/blobs/uploads/{id}", h.finishUpload)
	t.Add("DELETE", "/v2/{name...}/blobs/uploads/{id}", h.cancelUpload)

	t.Add("GET", "/v2/{name...}/blobs/{digest}", h.getBlob)
	t.Add("DELETE", "/v2/{name...}/blobs/{digest}", h.deleteBlob)

	t.Add("GET", "/v2/{name...}/manifests/{reference}", h.getManifest)
	t.Add("PUT", "/v2/{name...}/manifests/{reference}", h.putManifest)
	t.Add("DELETE", "/v2/{name...}/manifests/{reference}", h.deleteManifest)

	t.Add("GET", "/v2/{name...}/tags/list", h.listTags)
	t.Add("GET", "/v2/{name...}/referrers/{digest}", h.listReferrers)
}
