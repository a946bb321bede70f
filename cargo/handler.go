package cargo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
	"github.com/smartregistry/smartregistry/internal/tagcache"
	"github.com/smartregistry/smartregistry/upstream"
)

// Config configures the Cargo handler. The zero value of every field other
// than the embedded ProtocolConfig means its default.
type Config struct {
	core.ProtocolConfig
	// MaxCrateSize bounds the .crate of one publish; default 64 MiB.
	MaxCrateSize int64
	// MaxMetadataSize bounds the JSON metadata of one publish, and the
	// Cargo.toml read out of the crate; default 1 MiB.
	MaxMetadataSize int64
	// IndexCacheSize bounds, in bytes, the crate documents and rendered
	// index files kept in memory, each pinned to its document's ETag so
	// that a cached file is never stale; default 64 MiB, negative
	// disables the cache.
	IndexCacheSize int64
	// UploadMaxAge is the age past which a temporary publish object is
	// taken for one a crashed process left behind and removed; default 1h.
	UploadMaxAge time.Duration
	// UploadCleanupInterval is how often, at most, a publish starts a
	// background sweep of temporary objects older than UploadMaxAge;
	// default 10m, negative disables it.
	UploadCleanupInterval time.Duration
	// Upstream is the cache policy of crates fetched from the upstreams
	// that core.Deps.Upstream names (see upstream.go and package upstream).
	Upstream upstream.Policy
}

const (
	defaultMaxCrateSize    = 64 << 20
	defaultMaxMetadataSize = 1 << 20
	defaultIndexCache      = 64 << 20
	defaultUploadMaxAge    = time.Hour
	defaultCleanupInterval = 10 * time.Minute
)

// Handler serves a Cargo sparse index (config.json and one file per
// crate), the web API cargo publishes, yanks, manages owners and searches
// with, and downloads. It is safe for concurrent use, also by several
// handlers (replicas) sharing one storage.
type Handler struct {
	deps    core.Deps
	cfg     Config
	log     *slog.Logger
	routes  route.Table[routeFunc]
	cache   *indexCache
	search  *searcher
	now     func() time.Time
	sweeper *core.Sweeper
	// up fetches crates held upstream; nil when none are configured.
	up *upstream.Client
	// merged keeps merged index files (Config.Upstream.Merge).
	merged *tagcache.Cache[[]byte]
}

// routeFunc serves one route with the wildcard values of its pattern.
type routeFunc func(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error)

// New builds the handler. deps.Storage and deps.Auth are required.
func New(deps core.Deps, cfg Config) (*Handler, error) {
	if deps.Storage == nil || deps.Auth == nil {
		return nil, errors.New("cargo: Storage and Auth are required")
	}
	if cfg.MaxCrateSize <= 0 {
		cfg.MaxCrateSize = defaultMaxCrateSize
	}
	if cfg.MaxMetadataSize <= 0 {
		cfg.MaxMetadataSize = defaultMaxMetadataSize
	}
	if cfg.IndexCacheSize == 0 {
		cfg.IndexCacheSize = defaultIndexCache
	}
	if cfg.UploadMaxAge <= 0 {
		cfg.UploadMaxAge = defaultUploadMaxAge
	}
	if cfg.UploadCleanupInterval == 0 {
		cfg.UploadCleanupInterval = defaultCleanupInterval
	}
	var err error
	h := &Handler{deps: deps, cfg: cfg, log: deps.Logger, cache: newIndexCache(cfg.IndexCacheSize),
		search: newSearcher(deps.Storage), now: time.Now}
	h.merged = tagcache.New(h.mergedBudget(), mergedCost)
	if h.log == nil {
		h.log = slog.Default()
	}
	h.sweeper = core.NewSweeper(deps.Storage, uploadsPrefix, cfg.UploadMaxAge, cfg.UploadCleanupInterval, h.log,
		func() time.Time { return h.now() })
	if h.up, err = upstream.FromDeps(deps, upstream.Config{Protocol: core.ProtocolCargo, Policy: cfg.Upstream}); err != nil {
		return nil, fmt.Errorf("cargo: %w", err)
	}
	h.addRoutes()
	return h, nil
}

// Protocol returns core.ProtocolCargo.
func (h *Handler) Protocol() core.Protocol { return core.ProtocolCargo }

// Handle serves one request; req.Path is relative to the base path.
func (h *Handler) Handle(ctx context.Context, req *core.RequestContext) (*core.Response, error) {
	fn, params, err := h.routes.Lookup(req.Method, req.Path)
	if err != nil {
		return nil, err
	}
	return fn(ctx, req, params)
}

// Close stops the background sweep of abandoned publishes and the upstream
// client's background work, waiting for them to end or ctx to be done.
func (h *Handler) Close(ctx context.Context) error {
	err := h.sweeper.Close(ctx)
	if h.up != nil {
		err = errors.Join(err, h.up.Close(ctx))
	}
	return err
}

// CleanUploads removes the temporary objects of publishes that started
// before before (left by a crashed process) and returns how many.
func (h *Handler) CleanUploads(ctx context.Context, before time.Time) (int, error) {
	return h.sweeper.Sweep(ctx, before)
}

// authRequired reports whether reads need credentials (config.json's
// auth-required).
func (h *Handler) authRequired() bool { return !h.deps.Auth.AnonymousRead(core.ProtocolCargo) }

// identify returns the caller, nil for an anonymous one; wrong credentials
// are ErrUnauthorized. cargo sends its token bare; Bearer works too.
func (h *Handler) identify(ctx context.Context, req *core.RequestContext) (*core.Principal, error) {
	return h.deps.Auth.IdentifyRequest(ctx, core.ProtocolCargo, req, "")
}

// reader identifies a caller who reads: when the registry requires
// authentication, an anonymous caller is ErrUnauthorized before anything
// is looked up, so that cargo retries with its token and nothing tells an
// anonymous caller which crates exist.
func (h *Handler) reader(ctx context.Context, req *core.RequestContext) (*core.Principal, error) {
	p, err := h.identify(ctx, req)
	if err != nil {
		return nil, err
	}
	if p == nil && h.authRequired() {
		return nil, fmt.Errorf("%w: this registry requires a token (cargo login)", core.ErrUnauthorized)
	}
	return p, nil
}

// writer identifies a caller who changes something: credentials are
// required, and a caller who may write nothing is refused at once.
func (h *Handler) writer(ctx context.Context, req *core.RequestContext) (*core.Principal, error) {
	p, err := h.identify(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := h.deps.Auth.MayWrite(p, core.ProtocolCargo); err != nil {
		return nil, fmt.Errorf("%w (cargo login --registry <name>)", err)
	}
	return p, nil
}

// crateScope is cargo:crate:<name>:<action>, name as first published.
func crateScope(name string, a core.Action) core.Scope {
	return core.NewScope(core.ProtocolCargo, "crate", name, a)
}

// nameParam validates the {name} wildcard of an API route: an invalid
// name names no crate.
func nameParam(p route.Params) (string, error) {
	name := p["name"]
	if ValidateName(name) != nil {
		return "", fmt.Errorf("%w: no crate is named %.80q", core.ErrNotFound, name)
	}
	return name, nil
}
