package upstream

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/smartregistry/smartregistry/core"
)

// Lister is implemented by providers that can name every upstream of a
// protocol, whatever the package ([Static] does). A protocol whose index
// spans all packages (RubyGems' /versions) reads each upstream's index
// through it; with a provider that is no Lister, such an index shows local
// packages only.
type Lister interface {
	// All returns every upstream of protocol, first choice first.
	All(ctx context.Context, protocol core.Protocol) []core.Upstream
}

var _ Lister = (*Static)(nil)

// All returns every enabled upstream of protocol, lowest priority value
// first (configuration order among equals).
func (s *Static) All(_ context.Context, protocol core.Protocol) []core.Upstream {
	rules := s.byProtocol[protocol]
	out := make([]core.Upstream, 0, len(rules))
	for _, r := range rules {
		out = append(out, r.upstream)
	}
	return out
}

// All returns every upstream of the client's protocol, first choice
// first, when its provider is a [Lister]; else nil.
func (c *Client) All(ctx context.Context) []core.Upstream {
	if l, ok := c.cfg.Provider.(Lister); ok {
		return l.All(ctx, c.cfg.Protocol)
	}
	return nil
}

// fetchFor asks for a metadata document: the upstreams of req.Name in
// order, or only the upstream req.Upstream names.
func (c *Client) fetchFor(ctx context.Context, req MetadataRequest, header http.Header) (*Response, error) {
	if req.Upstream == "" {
		return c.Fetch(ctx, req.Name, req.Path, header)
	}
	for _, u := range c.All(ctx) {
		if u.Name != req.Upstream {
			continue
		}
		resp, err := c.try(ctx, http.MethodGet, u, req.Path, header)
		switch {
		case err == nil:
			return resp, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case errors.Is(err, errMissing):
			return nil, fmt.Errorf("%w: %s", ErrNotFound, req.Path)
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrUnavailable, req.Path, err)
	}
	return nil, fmt.Errorf("%w: no upstream is named %q", ErrNotFound, req.Upstream)
}
