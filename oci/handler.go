package oci

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
	"github.com/smartregistry/smartregistry/upstream"
)

// apiVersion is the value of the Docker-Distribution-API-Version header.
const apiVersion = "registry/2.0"

// Defaults of the Config fields.
const (
	DefaultService               = "smartregistry"
	DefaultMaxManifestSize       = 4 << 20
	DefaultUploadMaxAge          = 24 * time.Hour
	DefaultUploadCleanupInterval = time.Hour
)

// Config configures the OCI handler. The zero value serves the whole spec
// with the defaults below.
type Config struct {
	core.ProtocolConfig
	// Service is the service name of the token flow and the audience of
	// the bearer tokens issued; default DefaultService. Replicas must share
	// it.
	Service string
	// DisableDelete refuses DELETE of manifests, tags and blobs (405
	// UNSUPPORTED).
	DisableDelete bool
	// DisableReferrers turns the referrers API off (404) and stops
	// answering OCI-Subject on manifest pushes.
	DisableReferrers bool
	// MaxManifestSize bounds a manifest body; default 4 MiB.
	MaxManifestSize int64
	// UploadMaxAge is how long an upload may stay untouched before
	// CleanUploads removes it; default 24h.
	UploadMaxAge time.Duration
	// UploadCleanupInterval is how often a background goroutine runs
	// CleanUploads; default 1h, negative disables it.
	UploadCleanupInterval time.Duration
	// Upstream is the cache policy of what is fetched from the upstream
	// registries core.Deps.Upstream names (see upstream.go and package
	// upstream): MetadataTTL is how long a tag and a tags list are served
	// before the upstream is asked again; Merge lists the upstream's tags
	// of a repository held here too, and serves its manifests where no
	// local tag has the name; NewNamesNeedWrite asks for push rights
	// before a repository is first fetched.
	Upstream upstream.Policy
}

// Handler serves the OCI Distribution API (v1.1) below its base path and,
// through the Registry, at /v2/ at the host root.
type Handler struct {
	deps   core.Deps
	cfg    Config
	log    *slog.Logger
	routes route.Table[endpoint]

	stop    context.CancelFunc
	cleaned sync.WaitGroup
	// cataloged holds the repository names this instance knows are in the
	// catalog index.
	cataloged sync.Map

	// up fetches what upstreams serve; nil when none are configured.
	up *upstream.Client
	// fills sweeps the staged upstream fills a crash left behind.
	fills *core.Sweeper
	// kept holds "<name>@<digest>" of the upstream manifests of tags this
	// instance has stored by digest; keptCount counts them.
	kept      sync.Map
	keptCount atomic.Int64
}

// endpoint serves one route; params are the route's wildcards.
type endpoint func(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error)

// New builds the handler and starts the background cleanup of abandoned
// uploads; [Handler.Close] stops it.
func New(deps core.Deps, cfg Config) (*Handler, error) {
	if deps.Storage == nil || deps.Auth == nil {
		return nil, errors.New("oci: storage and auth are required")
	}
	if cfg.Service == "" {
		cfg.Service = DefaultService
	}
	if cfg.MaxManifestSize <= 0 {
		cfg.MaxManifestSize = DefaultMaxManifestSize
	}
	if cfg.UploadMaxAge <= 0 {
		cfg.UploadMaxAge = DefaultUploadMaxAge
	}
	if cfg.UploadCleanupInterval == 0 {
		cfg.UploadCleanupInterval = DefaultUploadCleanupInterval
	}
	h := &Handler{deps: deps, cfg: cfg, log: deps.Logger}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.fills = core.NewSweeper(deps.Storage, fillsPrefix, cfg.UploadMaxAge, cfg.UploadCleanupInterval, h.log, nil)
	var err error
	if h.up, err = newUpstreamClient(deps, cfg); err != nil {
		return nil, fmt.Errorf("oci: %w", err)
	}
	h.addRoutes()
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	if cfg.UploadCleanupInterval > 0 {
		h.cleaned.Go(func() { h.cleanLoop(ctx) })
	}
	return h, nil
}

// Protocol returns core.ProtocolOCI.
func (h *Handler) Protocol() core.Protocol { return core.ProtocolOCI }

// Handle serves one request.
func (h *Handler) Handle(ctx context.Context, req *core.RequestContext) (*core.Response, error) {
	ep, params, err := h.routes.Match(req.Method, req.Path)
	if err != nil {
		var mna *route.MethodNotAllowedError
		if errors.As(err, &mna) {
			return nil, fmt.Errorf("%w: %s %s", ErrUnsupported, req.Method, req.Path)
		}
		return nil, fmt.Errorf("%w: %s", core.ErrNotFound, req.Path)
	}
	if name, ok := params["name"]; ok && !ValidName(name) {
		return nil, fmt.Errorf("%w: %q", ErrNameInvalid, name)
	}
	resp, err := ep(ctx, req, params)
	if err != nil {
		return nil, err
	}
	resp.Header.Set("Docker-Distribution-API-Version", apiVersion)
	return resp, nil
}

// Close stops the background upload cleanup and the upstream client's
// background work, waiting for them to end or ctx to be done.
func (h *Handler) Close(ctx context.Context) error {
	h.stop()
	h.cleaned.Wait()
	err := h.fills.Close(ctx)
	if h.up != nil {
		err = errors.Join(err, h.up.Close(ctx))
	}
	return err
}

func (h *Handler) cleanLoop(ctx context.Context) {
	t := time.NewTicker(h.cfg.UploadCleanupInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := h.CleanUploads(ctx, time.Now().Add(-h.cfg.UploadMaxAge)); err != nil && ctx.Err() == nil {
				h.log.WarnContext(ctx, "oci: upload cleanup failed", "error", err)
			}
		}
	}
}

// ociScope returns the concrete scope checked for action on a repository.
func ociScope(name string, a core.Action) core.Scope {
	return core.NewScope(core.ProtocolOCI, "repository", name, a)
}

// tokenAction names the token-flow action for a scope action.
var tokenAction = map[core.Action]string{core.ActionRead: "pull", core.ActionWrite: "push", core.ActionDelete: "delete"}

// identify authenticates the request; bad credentials become a challenge.
func (h *Handler) identify(ctx context.Context, req *core.RequestContext) (*core.Principal, error) {
	p, err := h.deps.Auth.IdentifyRequest(ctx, core.ProtocolOCI, req, h.cfg.Service)
	if err != nil {
		return nil, &challengeError{err: err}
	}
	return p, nil
}

// authorize checks that the caller may perform a on repository name. A
// caller that must (re)authenticate gets a 401 with a challenge for the
// scope; a bearer token lacking the scope too, so that the client fetches
// a token for it, unless the token endpoint already refused that scope to
// this token's holder (then 403 DENIED, not a loop of challenges).
func (h *Handler) authorize(ctx context.Context, req *core.RequestContext, name string, a core.Action) (*core.Principal, error) {
	scope := "repository:" + name + ":" + tokenAction[a]
	if a == core.ActionWrite {
		scope = "repository:" + name + ":pull,push"
	}
	p, err := h.identify(ctx, req)
	if err != nil {
		var ce *challengeError
		if errors.As(err, &ce) {
			ce.scope = scope
		}
		return nil, err
	}
	err = h.deps.Auth.Authorize(ctx, p, ociScope(name, a))
	if err == nil {
		return p, nil
	}
	if errors.Is(err, core.ErrUnauthorized) {
		return nil, &challengeError{err: err, scope: scope}
	}
	if errors.Is(err, core.ErrForbidden) && flowToken(req) && !p.AskedFor(ociScope(name, a)) {
		return nil, &challengeError{err: fmt.Errorf("%w: %v", core.ErrUnauthorized, err), scope: scope, insufficient: true}
	}
	return nil, err
}

// authorizeDelete checks that deletion is enabled and the caller may
// delete in repository name.
func (h *Handler) authorizeDelete(ctx context.Context, req *core.RequestContext, name string) error {
	if h.cfg.DisableDelete {
		return fmt.Errorf("%w: deletion is disabled", ErrUnsupported)
	}
	_, err := h.authorize(ctx, req, name, core.ActionDelete)
	return err
}

// flowToken reports whether the request carries a bearer JWT of the token
// flow (rather than a password or an opaque API token), whose holder can
// fetch another one for a missing scope.
func flowToken(req *core.RequestContext) bool {
	c := core.ParseCredentials(req.Header)
	return c.Kind == core.CredentialBearer && strings.Count(c.Token, ".") == 2
}

// base answers GET /v2/: 200 to a caller who may use the registry, 401
// with a challenge otherwise.
func (h *Handler) base(ctx context.Context, req *core.RequestContext, _ route.Params) (*core.Response, error) {
	if _, err := h.identifyReader(ctx, req, ""); err != nil {
		return nil, err
	}
	return core.JSONResponse(http.StatusOK, struct{}{}), nil
}

// identifyReader authenticates a request that any reader may make: it
// challenges an anonymous caller (for scope, if not empty) unless anyone
// may read.
func (h *Handler) identifyReader(ctx context.Context, req *core.RequestContext, scope string) (*core.Principal, error) {
	p, err := h.identify(ctx, req)
	if err != nil {
		return nil, err
	}
	if p == nil && !h.deps.Auth.AnonymousRead(core.ProtocolOCI) {
		return nil, &challengeError{err: fmt.Errorf("%w: log in to use the registry", core.ErrUnauthorized), scope: scope}
	}
	return p, nil
}
