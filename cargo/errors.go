package cargo

import (
	"context"
	"fmt"
	"net/http"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/reqbody"
	"github.com/smartregistry/smartregistry/internal/route"
)

// ErrVersionExists refuses a publish of a version the crate has, or had
// before it was deleted: a version stands for one .crate forever.
var ErrVersionExists = fmt.Errorf("%w: crate version already exists", core.ErrInvalidArgument)

// ErrNotOwner refuses a publish, yank or owner change by a user who is not
// an owner of the crate.
var ErrNotOwner = fmt.Errorf("%w: not an owner of the crate", core.ErrForbidden)

// ErrorResponse renders err as Cargo expects it: the status its category
// maps to and {"errors":[{"detail":"…"}]}, whose detail cargo prints. A 401
// carries WWW-Authenticate: Cargo login_url="…", so cargo retries a read
// with its token (when the registry requires authentication) or tells the
// user where to get one. A 405 carries Allow; a refusal sent before the
// body of a publish was read carries Connection: close. Internal errors
// show only "internal error".
func (h *Handler) ErrorResponse(_ context.Context, req *core.RequestContext, err error) *core.Response {
	status := core.HTTPStatus(err)
	msg := core.HideKeys(core.ClientMessage(err), cratesPrefix, filesPrefix, searchPrefix, uploadsPrefix)
	resp := core.JSONResponse(status, map[string]any{"errors": []map[string]string{{"detail": msg}}})
	switch status {
	case http.StatusUnauthorized:
		base := ""
		if req != nil {
			base = req.BaseURL
		}
		resp.Header.Set("WWW-Authenticate", fmt.Sprintf(`Cargo login_url=%q`, base+"/me"))
	case http.StatusMethodNotAllowed:
		route.SetAllow(resp.Header, err)
	}
	if reqbody.MustClose(err) {
		resp.Header.Set("Connection", "close")
	}
	return resp
}
