package rubygems

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/reqbody"
	"github.com/smartregistry/smartregistry/internal/route"
)

// ErrRepush refuses a push of a version (and platform) that was pushed
// before, with the text rubygems.org answers and gem prints.
var ErrRepush = fmt.Errorf("%w: Repushing of gem versions is not allowed.", core.ErrConflict)

// ErrorResponse renders err as rubygems.org does: the status its category
// maps to and a plain-text body, which gem prints as it is. A 401 carries
// WWW-Authenticate: Basic realm="rubygems", so that bundler retries with
// the credentials it has for the source; a 405 carries Allow; a refusal
// sent before the body of a push was read carries Connection: close. Internal
// errors are logged by the registry, once, and shown only as "internal
// error".
func (h *Handler) ErrorResponse(_ context.Context, _ *core.RequestContext, err error) *core.Response {
	status := core.HTTPStatus(err)
	msg := core.HideKeys(core.ClientMessage(err), gemsPrefix, filesPrefix, versionsPrefix, uploadsPrefix, upstreamPrefix)
	if errors.Is(err, ErrRepush) {
		msg = "Repushing of gem versions is not allowed."
	}
	resp := core.BytesResponse(status, "text/plain; charset=utf-8", []byte(msg+"\n"))
	switch status {
	case http.StatusUnauthorized:
		resp.Header.Set("WWW-Authenticate", `Basic realm="rubygems"`)
	case http.StatusMethodNotAllowed:
		route.SetAllow(resp.Header, err)
	}
	if reqbody.MustClose(err) {
		resp.Header.Set("Connection", "close")
	}
	return resp
}
