package pypi

import (
	"context"
	"fmt"
	"net/http"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/reqbody"
	"github.com/smartregistry/smartregistry/internal/route"
)

// ErrFileExists refuses a second upload of a file name. Its text contains
// "already exists", which is what twine's --skip-existing looks for in a
// 400 response.
var ErrFileExists = fmt.Errorf("%w: File already exists", core.ErrInvalidArgument)

// ErrFileNameReused refuses an upload of a file name that was uploaded and
// then deleted, as PyPI does: a file name stands for one content forever,
// so that no installer is ever given two different files under one name.
// Unlike ErrFileExists, twine --skip-existing does not skip it.
var ErrFileNameReused = fmt.Errorf("%w: This filename has already been used, use a different version", core.ErrInvalidArgument)

// ErrorResponse renders err as PyPI does: the status its category maps to
// and a plain-text body with the message. A 401 carries
// WWW-Authenticate: Basic realm="pypi" so pip and twine retry with
// credentials; a 405 carries Allow; a refusal sent before the request body
// was read to its end carries Connection: close. Internal errors are
// logged by the registry, once, and shown to the client only as "internal
// error".
func (h *Handler) ErrorResponse(_ context.Context, _ *core.RequestContext, err error) *core.Response {
	status := core.HTTPStatus(err)
	msg := core.HideKeys(core.ClientMessage(err), projectsPrefix, filesPrefix, uploadsPrefix)
	resp := core.BytesResponse(status, "text/plain; charset=utf-8", []byte(fmt.Sprintf("%d %s\n", status, msg)))
	switch status {
	case http.StatusUnauthorized:
		resp.Header.Set("WWW-Authenticate", `Basic realm="pypi"`)
	case http.StatusMethodNotAllowed:
		route.SetAllow(resp.Header, err)
	}
	if reqbody.MustClose(err) {
		resp.Header.Set("Connection", "close")
	}
	return resp
}
