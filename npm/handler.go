package npm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
	"github.com/smartregistry/smartregistry/internal/tagcache"
	"github.com/smartregistry/smartregistry/upstream"
)

// Config configures the npm handler. Zero values mean defaults.
type Config struct {
	core.ProtocolConfig
	// MaxTarballSize bounds a published tarball (decoded); default 256 MiB.
	MaxTarballSize int64
	// MaxMetadataSize bounds the JSON of a publish request other than the
	// tarball itself, and of other write requests; default 16 MiB.
	MaxMetadataSize int64
	// PackumentCacheSize bounds the memory used to keep rendered package
	// documents (full and abbreviated) between requests; default 64 MiB.
	// Entries are keyed by the stored document's ETag, so replicas sharing a
	// bucket never serve stale documents.
	PackumentCacheSize int64
	// UploadMaxAge is the age past which a tarball still in the uploads
	// area is taken for one a crashed process left behind and removed;
	// default 1h. It must be longer than a publish takes to arrive.
	UploadMaxAge time.Duration
	// UploadCleanupInterval is how often, at most, a publish starts a
	// background sweep of the uploads area; default 10m, negative
	// disables it.
	UploadCleanupInterval time.Duration
	// Upstream is the cache policy of packages fetched from the upstreams
	// that core.Deps.Upstream names (see upstream.go and package upstream).
	Upstream upstream.Policy
}

// Defaults of the Config limits.
const (
	defaultMaxTarballSize     = 256 << 20
	defaultMaxMetadataSize    = 16 << 20
	defaultPackumentCacheSize = 64 << 20
	defaultUploadMaxAge       = time.Hour
	defaultCleanupInterval    = 10 * time.Minute
)

// Handler serves npm requests. It is safe for concurrent use; several
// Handlers (in one process or many) may share one storage.
type Handler struct {
	deps   core.Deps
	cfg    Config
	log    *slog.Logger
	routes route.Table[handlerFunc]
	cache  *packumentCache
	index  *searcher
	// sweeper removes tarballs a crashed process left in the uploads area.
	sweeper *core.Sweeper
	// up fetches packages held upstream; nil when none are configured.
	up *upstream.Client
	// proxies keeps parsed upstream packuments.
	proxies *tagcache.Cache[*proxyDoc]
}

// handlerFunc serves one matched route.
type handlerFunc func(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error)

// New builds the handler.
func New(deps core.Deps, cfg Config) (*Handler, error) {
	if deps.Storage == nil || deps.Auth == nil {
		return nil, errors.New("npm: storage and auth are required")
	}
	if cfg.MaxTarballSize <= 0 {
		cfg.MaxTarballSize = defaultMaxTarballSize
	}
	if cfg.MaxMetadataSize <= 0 {
		cfg.MaxMetadataSize = defaultMaxMetadataSize
	}
	if cfg.PackumentCacheSize <= 0 {
		cfg.PackumentCacheSize = defaultPackumentCacheSize
	}
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	h := &Handler{deps: deps, cfg: cfg, log: log, cache: newPackumentCache(cfg.PackumentCacheSize),
		index: newSearcher(deps.Storage)}
	if cfg.UploadMaxAge <= 0 {
		cfg.UploadMaxAge = defaultUploadMaxAge
	}
	if cfg.UploadCleanupInterval == 0 {
		cfg.UploadCleanupInterval = defaultCleanupInterval
	}
	h.cfg = cfg
	h.sweeper = core.NewSweeper(deps.Storage, uploadsPrefix, cfg.UploadMaxAge, cfg.UploadCleanupInterval, log, nil)
	up, err := upstream.FromDeps(deps, upstream.Config{Protocol: core.ProtocolNPM, Policy: cfg.Upstream})
	if err != nil {
		return nil, fmt.Errorf("npm: %w", err)
	}
	h.up, h.proxies = up, tagcache.New(cfg.PackumentCacheSize/2, func(_ string, d *proxyDoc) int64 { return d.footprint() })
	h.addRoutes()
	return h, nil
}

// Close stops the background sweep of abandoned uploads and the upstream
// revalidations, waiting for those in progress until ctx ends. The
// Registry's Close calls it.
func (h *Handler) Close(ctx context.Context) error {
	err := h.sweeper.Close(ctx)
	if h.up != nil {
		err = errors.Join(err, h.up.Close(ctx))
	}
	return err
}

// CleanUploads removes the tarballs left in the uploads area by publishes
// that started before before (a crashed process) and returns how many.
func (h *Handler) CleanUploads(ctx context.Context, before time.Time) (int, error) {
	return h.sweeper.Sweep(ctx, before)
}

// Protocol returns core.ProtocolNPM.
func (h *Handler) Protocol() core.Protocol { return core.ProtocolNPM }

// Handle serves one request.
func (h *Handler) Handle(ctx context.Context, req *core.RequestContext) (*core.Response, error) {
	fn, params, err := h.routes.Match(req.Method, canonicalPath(req.Path))
	if err != nil {
		if mna := (*route.MethodNotAllowedError)(nil); errors.As(err, &mna) {
			return nil, fmt.Errorf("%w: %w", core.ErrMethodNotAllowed, err)
		}
		return nil, errorf(core.ErrNotFound, "not found")
	}
	return fn(ctx, req, params)
}

// canonicalPath folds the unescaped form of a scoped name into the escaped
// one, so that "/@scope/pkg/..." and "/@scope%2fpkg/..." match the same
// routes: the route table then sees a package name as one segment.
func canonicalPath(p string) string {
	if !strings.HasPrefix(p, "/@") {
		return p
	}
	first, rest, ok := strings.Cut(p[1:], "/")
	if !ok || strings.Contains(strings.ToLower(first), "%2f") || rest == "" {
		return p
	}
	return "/" + first + "%2f" + rest
}

// principal identifies the caller; bad credentials are ErrUnauthorized.
func (h *Handler) principal(ctx context.Context, req *core.RequestContext) (*core.Principal, error) {
	p, err := h.deps.Auth.IdentifyRequest(ctx, core.ProtocolNPM, req, "")
	if err != nil {
		if errors.Is(err, core.ErrUnauthorized) {
			return nil, errorf(core.ErrUnauthorized, "invalid credentials: %v", err)
		}
		return nil, err
	}
	return p, nil
}

// authorize checks the package name, identifies the caller and checks that
// it may perform action on the package. It returns the principal (nil when
// anonymous).
func (h *Handler) authorize(ctx context.Context, req *core.RequestContext, name string, action core.Action) (*core.Principal, error) {
	if err := validateName(name); err != nil {
		return nil, err
	}
	p, err := h.principal(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := h.deps.Auth.Authorize(ctx, p, core.NewScope(core.ProtocolNPM, "package", name, action)); err != nil {
		return nil, authError(err, name, action)
	}
	return p, nil
}

// authError turns an authorization refusal into the message npm prints.
func authError(err error, name string, action core.Action) error {
	switch {
	case errors.Is(err, core.ErrUnauthorized):
		return errorf(core.ErrUnauthorized, "authentication required to %s %s", action, name)
	case errors.Is(err, core.ErrForbidden):
		return errorf(core.ErrForbidden, "you do not have permission to %s %s: %v", action, name, err)
	}
	return err
}

// loggedIn identifies the caller and requires a user.
func (h *Handler) loggedIn(ctx context.Context, req *core.RequestContext) (*core.Principal, error) {
	p, err := h.principal(ctx, req)
	if err != nil {
		return nil, err
	}
	if p.Anonymous() {
		return nil, errorf(core.ErrUnauthorized, "you must be logged in")
	}
	return p, nil
}

// jsonOK is a 200 JSON response.
func jsonOK(v any) *core.Response { return core.JSONResponse(http.StatusOK, v) }
