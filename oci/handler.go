// Package oci serves the OCI protocol. (Placeholder: not built yet.)
package oci

import (
	"context"

	"github.com/smartregistry/smartregistry/core"
)

// Config configures the OCI handler.
type Config struct {
	core.ProtocolConfig
}

// Handler serves OCI requests.
type Handler struct {
	deps core.Deps
	cfg  Config
}

// New builds the handler.
func New(deps core.Deps, cfg Config) (*Handler, error) {
	return &Handler{deps: deps, cfg: cfg}, nil
}

// Protocol returns core.ProtocolOCI.
func (h *Handler) Protocol() core.Protocol { return core.ProtocolOCI }

// Handle serves one request.
func (h *Handler) Handle(ctx context.Context, req *core.RequestContext) (*core.Response, error) {
	return nil, core.ErrNotFound
}

// ErrorResponse renders err.
func (h *Handler) ErrorResponse(ctx context.Context, req *core.RequestContext, err error) *core.Response {
	return core.JSONResponse(core.HTTPStatus(err), map[string]string{"error": core.ClientMessage(err)})
}
