package pypi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
	"github.com/smartregistry/smartregistry/upstream"
)

// Config configures the PyPI handler. The zero value of every field other
// than the embedded ProtocolConfig means its default.
type Config struct {
	core.ProtocolConfig
	// MaxUploadSize bounds one upload request, form fields and file
	// together; default 1 GiB.
	MaxUploadSize int64
	// MaxMetadataSize bounds the METADATA or PKG-INFO read out of an
	// uploaded distribution; default 4 MiB.
	MaxMetadataSize int64
	// PageCacheEntries is how many rendered /simple/<project>/ pages are
	// kept in memory, keyed by the project document's ETag so that a
	// cached page is never stale; default 256, negative disables the cache.
	// It also bounds the cache of parsed core metadata the JSON API
	// serves, keyed by the metadata file's ETag.
	PageCacheEntries int
	// UploadMaxAge is the age past which a temporary upload object is
	// taken for one a crashed process left behind and removed; default 1h.
	// It must be longer than an upload takes to arrive.
	UploadMaxAge time.Duration
	// UploadCleanupInterval is how often, at most, an upload starts a
	// background sweep of the temporary upload objects older than
	// UploadMaxAge (CleanUploads); default 10m, negative disables it.
	UploadCleanupInterval time.Duration
	// Upstream is the cache policy of projects fetched from the upstreams
	// that core.Deps.Upstream names (see upstream.go and package upstream).
	Upstream upstream.Policy
}

const (
	defaultMaxUploadSize   = 1 << 30
	defaultMaxMetadataSize = 4 << 20
	defaultPageCache       = 256
	defaultUploadMaxAge    = time.Hour
	defaultCleanupInterval = 10 * time.Minute
	// maxFormField bounds one non-file field of the upload form,
	// maxFormFields all of them together (names and values), and
	// maxFormParts the number of parts (twine sends a few dozen).
	maxFormField  = 1 << 20
	maxFormFields = 8 << 20
	maxFormParts  = 4096
)

// Handler serves the PyPI simple API, the legacy upload API, the JSON API,
// downloads, and yank and delete. It is safe for concurrent use, also by
// several handlers (replicas) sharing one storage.
type Handler struct {
	deps   core.Deps
	cfg    Config
	log    *slog.Logger
	routes route.Table[routeFunc]
	pages  *pageCache
	docs   *docCache
	// renders are the background renderings of pages after uploads, one
	// at a time (renderMu).
	renders  sync.WaitGroup
	renderMu sync.Mutex
	closing  chan struct{} // closed by Close: pending renders are dropped
	closeOne sync.Once
	// metadata keeps parsed core metadata for the JSON API, keyed by
	// metadata key and pinned to the stored object's ETag.
	metadata *etagCache[string, Metadata]
	// now is the clock: upload times, upload key ages; tests replace it.
	now     func() time.Time
	sweeper *core.Sweeper
	// up fetches projects held upstream; nil when none are configured.
	up *upstream.Client
	// proxies keeps parsed upstream pages.
	proxies *proxyCache
}

// routeFunc serves one route with the wildcard values of its pattern.
type routeFunc func(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error)

// New builds the handler. deps.Storage and deps.Auth are required.
func New(deps core.Deps, cfg Config) (h *Handler, err error) {
	if deps.Storage == nil || deps.Auth == nil {
		return nil, errors.New("pypi: Storage and Auth are required")
	}
	if cfg.MaxUploadSize <= 0 {
		cfg.MaxUploadSize = defaultMaxUploadSize
	}
	if cfg.MaxMetadataSize <= 0 {
		cfg.MaxMetadataSize = defaultMaxMetadataSize
	}
	if cfg.PageCacheEntries == 0 {
		cfg.PageCacheEntries = defaultPageCache
	}
	if cfg.UploadMaxAge <= 0 {
		cfg.UploadMaxAge = defaultUploadMaxAge
	}
	if cfg.UploadCleanupInterval == 0 {
		cfg.UploadCleanupInterval = defaultCleanupInterval
	}
	h = &Handler{deps: deps, cfg: cfg, log: deps.Logger, pages: newPageCache(cfg.PageCacheEntries),
		docs: newDocCache(cfg.PageCacheEntries), metadata: newETagCache[string, Metadata](cfg.PageCacheEntries), now: time.Now,
		closing: make(chan struct{})}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.sweeper = core.NewSweeper(deps.Storage, uploadsPrefix, cfg.UploadMaxAge, cfg.UploadCleanupInterval, h.log,
		func() time.Time { return h.now() })
	if h.up, err = upstream.FromDeps(deps, upstream.Config{Protocol: core.ProtocolPyPI, Policy: cfg.Upstream}); err != nil {
		return nil, fmt.Errorf("pypi: %w", err)
	}
	h.proxies = newETagCache[string, *proxyPage](cfg.PageCacheEntries)
	h.addRoutes()
	return h, nil
}

// Protocol returns core.ProtocolPyPI.
func (h *Handler) Protocol() core.Protocol { return core.ProtocolPyPI }

// Handle serves one request; req.Path is relative to the base path.
func (h *Handler) Handle(ctx context.Context, req *core.RequestContext) (*core.Response, error) {
	fn, params, err := h.routes.Lookup(req.Method, req.Path)
	if err != nil {
		return nil, err
	}
	return fn(ctx, req, params)
}

// identify returns the caller, nil for an anonymous one; wrong credentials
// are ErrUnauthorized.
func (h *Handler) identify(ctx context.Context, req *core.RequestContext) (*core.Principal, error) {
	return h.deps.Auth.IdentifyRequest(ctx, core.ProtocolPyPI, req, "")
}

// authorize identifies the caller and checks that it may act on the
// project (a normalized name): pypi:package:<project>:<action>.
func (h *Handler) authorize(ctx context.Context, req *core.RequestContext, project string, a core.Action) (*core.Principal, error) {
	p, err := h.identify(ctx, req)
	if err != nil {
		return nil, err
	}
	return p, h.deps.Auth.Authorize(ctx, p, packageScope(project, a))
}

func packageScope(project string, a core.Action) core.Scope {
	return core.NewScope(core.ProtocolPyPI, "package", project, a)
}

// projectParam validates the {project} wildcard and returns it with its
// normalized form.
func projectParam(p route.Params) (name, normalized string, err error) {
	name = p["project"]
	if err := ValidateName(name); err != nil {
		return "", "", fmt.Errorf("%w: %w", core.ErrNotFound, err)
	}
	return name, NormalizeName(name), nil
}

// redirect answers 301 to a path below the base path, keeping the query.
func redirect(req *core.RequestContext, path string) *core.Response {
	loc := req.BaseURL + path
	if q := req.Query.Encode(); q != "" {
		loc += "?" + q
	}
	resp := core.NewResponse(http.StatusMovedPermanently)
	resp.Header.Set("Location", loc)
	return resp
}
