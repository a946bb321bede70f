package pypi

import (
	"context"
	"fmt"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/reqbody"
	"github.com/smartregistry/smartregistry/internal/route"
)

// refuseCrossSite refuses a state-changing request that a browser marks as
// sent from another site (Sec-Fetch-Site: cross-site): a page elsewhere
// could otherwise make a logged-in browser upload, yank or delete (the
// upload form is a "simple" multipart POST, which needs no CORS preflight).
// twine, pip and scripts send no Sec-Fetch-Site and are not affected.
func refuseCrossSite(req *core.RequestContext) error {
	if req.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return reqbody.Close(fmt.Errorf("%w: cross-site requests may not change the registry", core.ErrForbidden))
	}
	return nil
}

// sameSiteOnly wraps the entry point of a state-changing route with
// refuseCrossSite, which runs before anything else (the body is not read).
func sameSiteOnly(fn routeFunc) routeFunc {
	return func(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error) {
		if err := refuseCrossSite(req); err != nil {
			return nil, err
		}
		return fn(ctx, req, p)
	}
}
