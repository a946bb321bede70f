package composer

import (
	"context"
	"fmt"
	"net/http"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
)

// ErrVersionExists refuses a second upload of a version with other bytes
// (409); the same zip again is a retry and succeeds.
var ErrVersionExists = fmt.Errorf("%w: version already exists", core.ErrConflict)

// errorBody is the JSON body of every error, as Packagist answers:
// composer prints the message.
type errorBody struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// ErrorResponse renders err as {"status":"error","message":"..."} with the
// status its category maps to. A 401 carries WWW-Authenticate: Basic
// realm="composer", so composer asks for (or sends) the credentials of
// auth.json; a 405 carries Allow. Internal errors are logged by the
// registry, once, and shown to the client only as "internal error".
func (h *Handler) ErrorResponse(_ context.Context, _ *core.RequestContext, err error) *core.Response {
	status := core.HTTPStatus(err)
	msg := core.HideKeys(core.ClientMessage(err), packagesPrefix, distsPrefix, uploadsPrefix, indexPrefix, upstreamPrefix)
	resp := core.JSONResponse(status, errorBody{Status: "error", Message: msg})
	switch status {
	case http.StatusUnauthorized:
		resp.Header.Set("WWW-Authenticate", `Basic realm="composer"`)
	case http.StatusMethodNotAllowed:
		route.SetAllow(resp.Header, err)
	}
	return resp
}
