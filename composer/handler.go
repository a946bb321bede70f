package composer

import (
	"context"
	"errors"
	"fmt"

	"github.com/smartregistry/smartregistry/core"
)

// Config configures the Composer handler.
type Config struct {
	core.ProtocolConfig
}

// Handler serves the Composer protocol.
type Handler struct {
	deps core.Deps
	cfg  Config
}

// New builds the handler. deps.Storage and deps.Auth are required.
func New(deps core.Deps, cfg Config) (*Handler, error) {
	if deps.Storage == nil || deps.Auth == nil {
		return nil, errors.New("composer: Storage and Auth are required")
	}
	return &Handler{deps: deps, cfg: cfg}, nil
}

// Protocol returns core.ProtocolComposer.
func (h *Handler) Protocol() core.Protocol { return core.ProtocolComposer }

// Handle serves one request; req.Path is relative to the base path.
func (h *Handler) Handle(_ context.Context, req *core.RequestContext) (*core.Response, error) {
	return nil, fmt.Errorf("%w: %s", core.ErrNotFound, req.Path)
}

// ErrorResponse renders err as a JSON error body with the status its
// category maps to.
func (h *Handler) ErrorResponse(_ context.Context, _ *core.RequestContext, err error) *core.Response {
	return core.JSONResponse(core.HTTPStatus(err), map[string]string{"error": core.ClientMessage(err)})
}
