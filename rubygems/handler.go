package rubygems

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/route"
	"github.com/smartregistry/smartregistry/upstream"
)

// Config configures the RubyGems handler. The zero value of every field
// other than the embedded ProtocolConfig means its default.
type Config struct {
	core.ProtocolConfig
	// MaxGemSize bounds one pushed .gem; default 512 MiB.
	MaxGemSize int64
	// MaxSpecSize bounds the gemspec YAML decompressed out of a gem's
	// metadata.gz; default 2 MiB.
	MaxSpecSize int64
	// CacheEntries bounds the rendered /info files kept in memory, each
	// keyed by its gem document's ETag; default 1024, negative disables
	// the cache.
	CacheEntries int
	// CompactEvery is how many /versions log records a compaction folds
	// into a new base; default 256.
	CompactEvery int
	// UploadMaxAge is the age past which a temporary push object is taken
	// for one a crashed process left behind and removed; default 1h.
	UploadMaxAge time.Duration
	// UploadCleanupInterval is how often, at most, a push starts a
	// background sweep of old temporary push objects; default 10m,
	// negative disables it.
	UploadCleanupInterval time.Duration
	// Upstream is the cache policy of gems fetched from the upstreams that
	// core.Deps.Upstream names (see upstream.go and package upstream).
	// Merge is ignored: a local gem shadows the upstream gem of its name.
	Upstream upstream.Policy
}

const (
	defaultMaxGemSize      = 512 << 20
	defaultMaxSpecSize     = 2 << 20
	defaultCacheEntries    = 1024
	defaultCompactEvery    = 256
	defaultUploadMaxAge    = time.Hour
	defaultCleanupInterval = 10 * time.Minute
)

// Handler serves the RubyGems compact index, the legacy index, downloads
// and API v1 (push, yank, unyank, versions, gem info). It is safe for
// concurrent use, also by several handlers (replicas) sharing one storage.
type Handler struct {
	deps      core.Deps
	cfg       Config
	log       *slog.Logger
	routes    route.Table[routeFunc]
	infos     *infoCache
	versions  *versionsFile
	now       func() time.Time
	sweeper   *core.Sweeper
	specs     specsCache
	namesFile namesCache
	// up fetches gems held upstream; nil when none are configured.
	up *upstream.Client
	// merged is /versions with the upstreams' gems, last rendered.
	merged mergedCache
	// md5s are the MD5s of upstream /info files served.
	md5s md5Cache
}

// routeFunc serves one route with the wildcard values of its pattern.
type routeFunc func(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error)

// New builds the handler. deps.Storage and deps.Auth are required.
func New(deps core.Deps, cfg Config) (*Handler, error) {
	if deps.Storage == nil || deps.Auth == nil {
		return nil, errors.New("rubygems: Storage and Auth are required")
	}
	if cfg.MaxGemSize <= 0 {
		cfg.MaxGemSize = defaultMaxGemSize
	}
	if cfg.MaxSpecSize <= 0 {
		cfg.MaxSpecSize = defaultMaxSpecSize
	}
	if cfg.CacheEntries == 0 {
		cfg.CacheEntries = defaultCacheEntries
	}
	if cfg.CompactEvery <= 0 {
		cfg.CompactEvery = defaultCompactEvery
	}
	if cfg.UploadMaxAge <= 0 {
		cfg.UploadMaxAge = defaultUploadMaxAge
	}
	if cfg.UploadCleanupInterval == 0 {
		cfg.UploadCleanupInterval = defaultCleanupInterval
	}
	h := &Handler{deps: deps, cfg: cfg, log: deps.Logger, infos: newInfoCache(cfg.CacheEntries), now: time.Now}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.versions = newVersionsFile(deps.Storage, cfg.CompactEvery, func() time.Time { return h.now() })
	h.sweeper = core.NewSweeper(deps.Storage, uploadsPrefix, cfg.UploadMaxAge, cfg.UploadCleanupInterval, h.log,
		func() time.Time { return h.now() })
	var err error
	if h.up, err = upstream.FromDeps(deps, upstream.Config{Protocol: core.ProtocolRubyGems, Policy: cfg.Upstream}); err != nil {
		return nil, fmt.Errorf("rubygems: %w", err)
	}
	h.addRoutes()
	return h, nil
}

// Protocol returns core.ProtocolRubyGems.
func (h *Handler) Protocol() core.Protocol { return core.ProtocolRubyGems }

// Handle serves one request; req.Path is relative to the base path.
func (h *Handler) Handle(ctx context.Context, req *core.RequestContext) (*core.Response, error) {
	fn, params, err := h.routes.Lookup(req.Method, req.Path)
	if err != nil {
		return nil, err
	}
	return fn(ctx, req, params)
}

// Close waits for the background sweep of abandoned pushes and the
// upstream client's background work, until they end or ctx is done.
func (h *Handler) Close(ctx context.Context) error {
	err := h.sweeper.Close(ctx)
	if h.up != nil {
		err = errors.Join(err, h.up.Close(ctx))
	}
	return err
}

// CleanUploads removes temporary push objects created before before: what
// pushes of crashed processes left behind. It returns how many it removed.
func (h *Handler) CleanUploads(ctx context.Context, before time.Time) (int, error) {
	return h.sweeper.Sweep(ctx, before)
}

// identify returns the caller, nil for an anonymous one; wrong credentials
// are ErrUnauthorized.
func (h *Handler) identify(ctx context.Context, req *core.RequestContext) (*core.Principal, error) {
	return h.deps.Auth.IdentifyRequest(ctx, core.ProtocolRubyGems, req, "")
}

// authorize identifies the caller and checks that it may act on the gem:
// rubygems:gem:<name>:<action>.
func (h *Handler) authorize(ctx context.Context, req *core.RequestContext, name string, a core.Action) (*core.Principal, error) {
	p, err := h.identify(ctx, req)
	if err != nil {
		return nil, err
	}
	return p, h.deps.Auth.Authorize(ctx, p, gemScope(name, a))
}

// mayReadIndex lets through callers of the indexes that span all gems
// (/versions, /names, the legacy specs): anyone when reads are anonymous,
// else any identified caller.
func (h *Handler) mayReadIndex(ctx context.Context, req *core.RequestContext) error {
	p, err := h.identify(ctx, req)
	if err != nil {
		return err
	}
	if p == nil && !h.deps.Auth.AnonymousRead(core.ProtocolRubyGems) {
		return fmt.Errorf("%w: the index needs credentials", core.ErrUnauthorized)
	}
	return nil
}

func gemScope(name string, a core.Action) core.Scope {
	return core.NewScope(core.ProtocolRubyGems, "gem", name, a)
}
