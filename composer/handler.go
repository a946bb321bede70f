package composer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
	"github.com/smartregistry/smartregistry/internal/tagcache"
	"github.com/smartregistry/smartregistry/upstream"
)

// Config configures the Composer handler. The zero value of every field
// other than the embedded ProtocolConfig means its default.
type Config struct {
	core.ProtocolConfig
	// MaxUploadSize bounds one uploaded zip; default 256 MiB.
	MaxUploadSize int64
	// MaxManifestSize bounds the composer.json read out of an uploaded
	// zip; default 1 MiB.
	MaxManifestSize int64
	// MaxZipEntries bounds the entries of an uploaded zip; default 100,000.
	MaxZipEntries int
	// MaxCompressionRatio bounds what composer.json may inflate to per
	// compressed byte (past 1 MiB); default 200.
	MaxCompressionRatio int64
	// CacheEntries is how many packages' rendered /p2/ files are kept in
	// memory, keyed by the package document's ETag so that a cached file is
	// never stale; default 256, negative disables the cache.
	CacheEntries int
	// IndexTTL is how long the list of packages (packages.json's
	// available-packages, list.json, search.json) is reused before storage
	// is listed again; this handler's own uploads and deletes refresh it at
	// once, those of other replicas show after at most IndexTTL. Default
	// 2s, negative lists storage on every request.
	IndexTTL time.Duration
	// UploadMaxAge is the age past which a temporary upload object is
	// taken for one a crashed process left behind and removed; default 1h.
	UploadMaxAge time.Duration
	// UploadCleanupInterval is how often, at most, an upload starts a
	// background sweep of the temporary upload objects older than
	// UploadMaxAge; default 10m, negative disables it.
	UploadCleanupInterval time.Duration
	// Upstream is the cache policy of packages fetched from the upstreams
	// that core.Deps.Upstream names (see upstream.go and package upstream).
	Upstream upstream.Policy
}

const (
	defaultMaxUploadSize   = 256 << 20
	defaultMaxManifestSize = 1 << 20
	defaultMaxZipEntries   = 100_000
	defaultMaxRatio        = 200
	defaultCacheEntries    = 256
	defaultIndexTTL        = 2 * time.Second
	defaultUploadMaxAge    = time.Hour
	defaultCleanupInterval = 10 * time.Minute
)

// Handler serves a Composer v2 repository: packages.json, the /p2/
// metadata files, list.json and search.json, zip uploads, downloads and
// deletes. It is safe for concurrent use, also by several handlers
// (replicas) sharing one storage.
type Handler struct {
	deps    core.Deps
	cfg     Config
	log     *slog.Logger
	routes  route.Table[routeFunc]
	files   *fileCache
	index   *indexCache
	sweeper *core.Sweeper
	// renders are the background renderings after uploads (prerender),
	// one at a time (renderMu); written is the newest document ETag this
	// handler wrote per package, until it is rendered.
	renders   sync.WaitGroup
	renderMu  sync.Mutex
	written   map[string]string
	closing   chan struct{} // closed by Close: pending renderings are dropped
	closeOnce sync.Once
	// up fetches from the upstreams (nil: none); proxies keeps parsed
	// upstream /p2/ files.
	up      *upstream.Client
	proxies *tagcache.Cache[*proxyFile]
	roots   rootCache
	// now is the clock: upload times, upload key ages; tests replace it.
	now func() time.Time
}

// routeFunc serves one route with the wildcard values of its pattern.
type routeFunc func(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error)

// New builds the handler. deps.Storage and deps.Auth are required.
func New(deps core.Deps, cfg Config) (*Handler, error) {
	if deps.Storage == nil || deps.Auth == nil {
		return nil, errors.New("composer: Storage and Auth are required")
	}
	setDefault(&cfg.MaxUploadSize, defaultMaxUploadSize)
	setDefault(&cfg.MaxManifestSize, defaultMaxManifestSize)
	setDefault(&cfg.MaxZipEntries, defaultMaxZipEntries)
	setDefault(&cfg.MaxCompressionRatio, defaultMaxRatio)
	setDefault(&cfg.UploadMaxAge, defaultUploadMaxAge)
	if cfg.CacheEntries == 0 {
		cfg.CacheEntries = defaultCacheEntries
	}
	if cfg.IndexTTL == 0 {
		cfg.IndexTTL = defaultIndexTTL
	}
	if cfg.UploadCleanupInterval == 0 {
		cfg.UploadCleanupInterval = defaultCleanupInterval
	}
	h := &Handler{deps: deps, cfg: cfg, log: deps.Logger, files: newFileCache(cfg.CacheEntries),
		index: &indexCache{}, now: time.Now,
		written: map[string]string{}, closing: make(chan struct{})}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.sweeper = core.NewSweeper(deps.Storage, uploadsPrefix, cfg.UploadMaxAge, cfg.UploadCleanupInterval, h.log,
		func() time.Time { return h.now() })
	up, err := upstream.FromDeps(deps, upstream.Config{Protocol: core.ProtocolComposer, Policy: cfg.Upstream})
	if err != nil {
		return nil, fmt.Errorf("composer: %w", err)
	}
	h.up, h.proxies = up, tagcache.New(16<<20, func(_ string, f *proxyFile) int64 { return 3 * f.size })
	h.addRoutes()
	return h, nil
}

func setDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Protocol returns core.ProtocolComposer.
func (h *Handler) Protocol() core.Protocol { return core.ProtocolComposer }

// Handle serves one request; req.Path is relative to the base path.
func (h *Handler) Handle(ctx context.Context, req *core.RequestContext) (*core.Response, error) {
	fn, params, err := h.routes.Lookup(req.Method, req.Path)
	if err != nil {
		return nil, err
	}
	return fn(ctx, req, params)
}

// CleanUploads removes the temporary upload objects created before before
// (left behind by a process that crashed mid-upload) and returns how many
// it removed. It lists composer/uploads/ once.
func (h *Handler) CleanUploads(ctx context.Context, before time.Time) (int, error) {
	return h.sweeper.Sweep(ctx, before)
}

// Close stops the background sweep of temporary uploads, waiting for one
// in progress until ctx ends. Uploads still work after Close; they just
// start no more sweeps, and no background renderings. The Registry's
// Close calls it.
func (h *Handler) Close(ctx context.Context) error {
	err := h.sweeper.Close(ctx)
	h.closeOnce.Do(func() { close(h.closing) })
	h.renders.Wait()
	if h.up != nil {
		err = errors.Join(err, h.up.Close(ctx))
	}
	return err
}

// identify returns the caller, nil for an anonymous one; wrong credentials
// are ErrUnauthorized.
func (h *Handler) identify(ctx context.Context, req *core.RequestContext) (*core.Principal, error) {
	return h.deps.Auth.IdentifyRequest(ctx, core.ProtocolComposer, req, "")
}

// authorize identifies the caller and checks that it may act on the
// package: composer:package:<vendor>/<package>:<action>.
func (h *Handler) authorize(ctx context.Context, req *core.RequestContext, name string, a core.Action) (*core.Principal, error) {
	p, err := h.identify(ctx, req)
	if err != nil {
		return nil, err
	}
	return p, h.deps.Auth.Authorize(ctx, p, packageScope(name, a))
}

func packageScope(name string, a core.Action) core.Scope {
	return core.NewScope(core.ProtocolComposer, "package", name, a)
}

// packageParam returns the package name of the {vendor} and {package}
// wildcards; an invalid one is ErrNotFound (no such package).
func packageParam(p route.Params) (string, error) {
	name := p["vendor"] + "/" + p["package"]
	if err := ValidateName(name); err != nil {
		return "", fmt.Errorf("%w: %w", core.ErrNotFound, err)
	}
	return name, nil
}
