package maven

import (
	"context"
	"fmt"
	"net/http"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/reqbody"
	"github.com/smartregistry/smartregistry/internal/route"
)

// ErrorResponse renders err as a plain-text body, "<status> <message>",
// with the status its category maps to: Maven shows the status and reason,
// Gradle the body. A 401 carries WWW-Authenticate: Basic realm="maven",
// after which Maven's wagon sends the credentials of the <server> entry; a
// 405 carries Allow; a refusal sent before the request body was read to
// its end carries Connection: close. Internal errors are logged by the
// registry, once, and shown to the client only as "internal error".
func (h *Handler) ErrorResponse(_ context.Context, _ *core.RequestContext, err error) *core.Response {
	status := core.HTTPStatus(err)
	msg := core.HideKeys(core.ClientMessage(err), metaPrefix, filesPrefix, uploadsPrefix)
	resp := core.BytesResponse(status, "text/plain; charset=utf-8", []byte(fmt.Sprintf("%d %s\n", status, msg)))
	switch status {
	case http.StatusUnauthorized:
		resp.Header.Set("WWW-Authenticate", `Basic realm="maven"`)
	case http.StatusMethodNotAllowed:
		route.SetAllow(resp.Header, err)
	}
	if reqbody.MustClose(err) {
		resp.Header.Set("Connection", "close")
	}
	return resp
}
