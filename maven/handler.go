package maven

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

// Config configures the Maven handler. The zero value of every field other
// than the embedded ProtocolConfig means its default.
type Config struct {
	core.ProtocolConfig
	// AllowRedeploy lets a release file be deployed again with other
	// bytes, replacing the old ones. By default releases are immutable:
	// such a deploy is 409 Conflict (the same bytes again succeed).
	AllowRedeploy bool
	// SnapshotBuilds is how many timestamped builds of a SNAPSHOT version
	// are kept; older builds are deleted when a newer one is deployed.
	// Default 10.
	SnapshotBuilds int
	// MaxUploadSize bounds one deployed file; default 2 GiB.
	MaxUploadSize int64
	// MaxMetadataSize bounds an uploaded maven-metadata.xml; default 1 MiB.
	MaxMetadataSize int64
	// MetadataCacheEntries is how many rendered maven-metadata.xml
	// documents are kept in memory, each pinned to the ETag of the
	// document it was rendered from; default 256, negative disables it.
	MetadataCacheEntries int
	// UploadMaxAge is the age past which a temporary upload object is
	// taken for one a crashed process left behind and removed; default 1h.
	UploadMaxAge time.Duration
	// UploadCleanupInterval is how often, at most, a deploy starts a
	// background sweep of abandoned temporary uploads; default 10m,
	// negative disables it.
	UploadCleanupInterval time.Duration
	// Upstream is the cache policy of artifacts fetched from the upstreams
	// that core.Deps.Upstream names (see upstream.go and package
	// upstream): MetadataTTL for maven-metadata.xml, Merge to list the
	// upstream's versions of an artifact held locally too.
	Upstream upstream.Policy
}

const (
	defaultSnapshotBuilds  = 10
	defaultMaxUploadSize   = 2 << 30
	defaultMaxMetadataSize = 1 << 20
	defaultMetadataCache   = 256
	defaultUploadMaxAge    = time.Hour
	defaultCleanupInterval = 10 * time.Minute
)

// Handler serves a Maven repository: deploy (PUT) and download (GET,
// HEAD) of files in the standard layout, their checksums,
// maven-metadata.xml at group, artifact and SNAPSHOT version level, and
// directory listings. It is safe for concurrent use, also by several
// handlers (replicas) sharing one storage.
type Handler struct {
	deps    core.Deps
	cfg     Config
	log     *slog.Logger
	routes  route.Table[routeFunc]
	cache   *renderCache
	sweeper *core.Sweeper
	// now is the clock: upload times, SNAPSHOT ages; tests replace it.
	now func() time.Time
	// up fetches what the upstreams hold; nil when none are configured.
	up *upstream.Client
}

// routeFunc serves one route with the wildcard values of its pattern.
type routeFunc func(ctx context.Context, req *core.RequestContext, p route.Params) (*core.Response, error)

// New builds the handler. deps.Storage and deps.Auth are required.
func New(deps core.Deps, cfg Config) (*Handler, error) {
	if deps.Storage == nil || deps.Auth == nil {
		return nil, errors.New("maven: Storage and Auth are required")
	}
	if cfg.SnapshotBuilds <= 0 {
		cfg.SnapshotBuilds = defaultSnapshotBuilds
	}
	if cfg.MaxUploadSize <= 0 {
		cfg.MaxUploadSize = defaultMaxUploadSize
	}
	if cfg.MaxMetadataSize <= 0 {
		cfg.MaxMetadataSize = defaultMaxMetadataSize
	}
	if cfg.MetadataCacheEntries == 0 {
		cfg.MetadataCacheEntries = defaultMetadataCache
	}
	if cfg.UploadMaxAge <= 0 {
		cfg.UploadMaxAge = defaultUploadMaxAge
	}
	if cfg.UploadCleanupInterval == 0 {
		cfg.UploadCleanupInterval = defaultCleanupInterval
	}
	h := &Handler{deps: deps, cfg: cfg, log: deps.Logger, cache: newRenderCache(cfg.MetadataCacheEntries), now: time.Now}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.sweeper = core.NewSweeper(deps.Storage, uploadsPrefix, cfg.UploadMaxAge, cfg.UploadCleanupInterval, h.log,
		func() time.Time { return h.now() })
	var err error
	if h.up, err = upstream.FromDeps(deps, upstream.Config{Protocol: core.ProtocolMaven, Policy: cfg.Upstream}); err != nil {
		return nil, fmt.Errorf("maven: %w", err)
	}
	h.addRoutes()
	return h, nil
}

// Protocol returns core.ProtocolMaven.
func (h *Handler) Protocol() core.Protocol { return core.ProtocolMaven }

// Handle serves one request; req.Path is relative to the base path.
func (h *Handler) Handle(ctx context.Context, req *core.RequestContext) (*core.Response, error) {
	fn, params, err := h.routes.Lookup(req.Method, req.Path)
	if err != nil {
		return nil, err
	}
	return fn(ctx, req, params)
}

// Close stops the background sweep of abandoned uploads and the upstream
// client's background work, waiting for them to end or ctx to be done.
func (h *Handler) Close(ctx context.Context) error {
	err := h.sweeper.Close(ctx)
	if h.up != nil {
		err = errors.Join(err, h.up.Close(ctx))
	}
	return err
}

// CleanUploads removes the temporary upload objects created and written
// before before (left behind by a process that crashed mid-deploy) and
// returns how many it removed. Deploys start such a sweep on their own,
// for objects older than UploadMaxAge, at most once per
// UploadCleanupInterval. It lists maven/uploads/ once.
func (h *Handler) CleanUploads(ctx context.Context, before time.Time) (int, error) {
	return h.sweeper.Sweep(ctx, before)
}

// ArtifactScope is the scope that guards an artifact:
// maven:artifact:<groupId>:<artifactId>:<action>, e.g.
// "maven:artifact:com.example:app:write". A grant may use globs in the
// name: "maven:artifact:com.example:*:read" covers every artifact of the
// group, "maven:artifact:com.example*:*:write" its subgroups too.
func ArtifactScope(group, artifact string, a core.Action) core.Scope {
	return core.NewScope(core.ProtocolMaven, "artifact", group+":"+artifact, a)
}

// identify returns the caller, nil for an anonymous one; wrong
// credentials are ErrUnauthorized.
func (h *Handler) identify(ctx context.Context, req *core.RequestContext) (*core.Principal, error) {
	return h.deps.Auth.IdentifyRequest(ctx, core.ProtocolMaven, req, "")
}

// authorize identifies the caller and checks that it may act on the
// artifact.
func (h *Handler) authorize(ctx context.Context, req *core.RequestContext, group, artifact string, a core.Action) (*core.Principal, error) {
	p, err := h.identify(ctx, req)
	if err != nil {
		return nil, err
	}
	return p, h.deps.Auth.Authorize(ctx, p, ArtifactScope(group, artifact, a))
}
