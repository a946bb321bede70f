// Package smartregistry turns a Go program into a private package registry
// for OCI images, npm, PyPI and more: mount a [Registry] in a net/http server,
// or call [Registry.HandleRequest] directly.
package smartregistry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/smartregistry/smartregistry/cargo"
	"github.com/smartregistry/smartregistry/composer"
	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/s3"
	"github.com/smartregistry/smartregistry/maven"
	"github.com/smartregistry/smartregistry/npm"
	"github.com/smartregistry/smartregistry/oci"
	"github.com/smartregistry/smartregistry/pypi"
	"github.com/smartregistry/smartregistry/rubygems"
)

// Registry routes requests by base path to the enabled protocol handlers,
// which share one Storage and one AuthManager.
type Registry struct {
	cfg     Config
	storage *core.Storage
	auth    *core.AuthManager
	log     *slog.Logger
	mounts  []mount // longest base path first
	closed  atomic.Bool

	oci      *oci.Handler
	npm      *npm.Handler
	pypi     *pypi.Handler
	cargo    *cargo.Handler
	composer *composer.Handler
	rubygems *rubygems.Handler
	maven    *maven.Handler
}

type mount struct {
	base    string
	cfg     *core.ProtocolConfig
	handler core.ProtocolHandler
	oci     bool // the handler serves OCI, so also /v2 at the root
}

// New validates cfg and builds the registry.
func New(cfg Config) (*Registry, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	backend := cfg.Storage.Backend
	if backend == nil {
		b, err := s3.New(context.Background(), *cfg.Storage.S3)
		if err != nil {
			return nil, fmt.Errorf("config Storage.S3: %w", err)
		}
		backend = b
	}
	r := &Registry{cfg: cfg, log: cfg.Logger, storage: core.NewStorage(backend, cfg.StorageHooks)}

	provider := cfg.AuthProvider
	if provider == nil {
		opts := core.DefaultAuthOptions{Users: cfg.Auth.Users, Tokens: cfg.Auth.Tokens}
		if cfg.Auth.PersistTokens {
			opts.Storage = r.storage
			opts.TokenCacheTTL = cfg.Auth.TokenCacheTTL
		}
		p, err := core.NewDefaultAuthProvider(opts)
		if err != nil {
			return nil, fmt.Errorf("config Auth: %w", err)
		}
		provider = p
	}
	throttle := cfg.Auth.LoginThrottle
	if throttle.Storage == nil && cfg.Auth.PersistTokens {
		throttle.Storage = r.storage
	}
	auth, err := core.NewAuthManager(core.AuthOptions{
		Provider: provider, AnonymousRead: cfg.Auth.AnonymousRead, JWTSecret: []byte(cfg.Auth.JWTSecret),
		LoginThrottle: throttle,
	})
	if err != nil {
		return nil, fmt.Errorf("config Auth: %w", err)
	}
	r.auth = auth
	deps := core.Deps{Storage: r.storage, Auth: auth, Logger: r.log, Upstream: cfg.Upstream}

	if err := r.buildHandlers(deps); err != nil {
		// Stop the background work of the handlers already built.
		_ = r.Close(context.Background())
		return nil, err
	}
	return r, nil
}

// buildHandlers builds and mounts every enabled protocol handler.
func (r *Registry) buildHandlers(deps core.Deps) error {
	var err error
	if r.cfg.OCI.Enabled {
		if r.oci, err = oci.New(deps, r.cfg.OCI); err != nil {
			return fmt.Errorf("config OCI: %w", err)
		}
		r.mount(&r.cfg.OCI.ProtocolConfig, r.oci)
	}
	if r.cfg.NPM.Enabled {
		if r.npm, err = npm.New(deps, r.cfg.NPM); err != nil {
			return fmt.Errorf("config NPM: %w", err)
		}
		r.mount(&r.cfg.NPM.ProtocolConfig, r.npm)
	}
	if r.cfg.PyPI.Enabled {
		if r.pypi, err = pypi.New(deps, r.cfg.PyPI); err != nil {
			return fmt.Errorf("config PyPI: %w", err)
		}
		r.mount(&r.cfg.PyPI.ProtocolConfig, r.pypi)
	}
	if r.cfg.Cargo.Enabled {
		if r.cargo, err = cargo.New(deps, r.cfg.Cargo); err != nil {
			return fmt.Errorf("config Cargo: %w", err)
		}
		r.mount(&r.cfg.Cargo.ProtocolConfig, r.cargo)
	}
	if r.cfg.Composer.Enabled {
		if r.composer, err = composer.New(deps, r.cfg.Composer); err != nil {
			return fmt.Errorf("config Composer: %w", err)
		}
		r.mount(&r.cfg.Composer.ProtocolConfig, r.composer)
	}
	if r.cfg.RubyGems.Enabled {
		if r.rubygems, err = rubygems.New(deps, r.cfg.RubyGems); err != nil {
			return fmt.Errorf("config RubyGems: %w", err)
		}
		r.mount(&r.cfg.RubyGems.ProtocolConfig, r.rubygems)
	}
	if r.cfg.Maven.Enabled {
		if r.maven, err = maven.New(deps, r.cfg.Maven); err != nil {
			return fmt.Errorf("config Maven: %w", err)
		}
		r.mount(&r.cfg.Maven.ProtocolConfig, r.maven)
	}
	return nil
}

func (r *Registry) mount(cfg *core.ProtocolConfig, h core.ProtocolHandler) {
	m := mount{base: cfg.BasePath, cfg: cfg, handler: h, oci: h.Protocol() == core.ProtocolOCI}
	i := 0
	for i < len(r.mounts) && len(r.mounts[i].base) >= len(m.base) {
		i++
	}
	r.mounts = append(r.mounts[:i], append([]mount{m}, r.mounts[i:]...)...)
}

// Storage returns the shared storage.
func (r *Registry) Storage() *core.Storage { return r.storage }

// Auth returns the shared auth manager.
func (r *Registry) Auth() *core.AuthManager { return r.auth }

// OCI returns the OCI handler, or nil when OCI is not enabled.
func (r *Registry) OCI() *oci.Handler { return r.oci }

// NPM returns the npm handler, or nil when npm is not enabled.
func (r *Registry) NPM() *npm.Handler { return r.npm }

// PyPI returns the PyPI handler, or nil when PyPI is not enabled.
func (r *Registry) PyPI() *pypi.Handler { return r.pypi }

// Cargo returns the Cargo handler, or nil when Cargo is not enabled.
func (r *Registry) Cargo() *cargo.Handler { return r.cargo }

// Composer returns the Composer handler, or nil when Composer is not enabled.
func (r *Registry) Composer() *composer.Handler { return r.composer }

// RubyGems returns the RubyGems handler, or nil when RubyGems is not enabled.
func (r *Registry) RubyGems() *rubygems.Handler { return r.rubygems }

// Maven returns the Maven handler, or nil when Maven is not enabled.
func (r *Registry) Maven() *maven.Handler { return r.maven }

// route finds the mount for an escaped path and the path below its base:
// the longest base path that is the path or a prefix of it ending at a "/".
// OCI clients always speak to /v2/ at the host root, so /v2 and /v2/... go
// to the OCI handler whatever its base path, unless a mount claims them
// explicitly; a protocol mounted at "/" gets only what nothing else takes.
func (r *Registry) route(path string) (*mount, string) {
	var root *mount
	for i := range r.mounts {
		m := &r.mounts[i]
		if m.base == "/" {
			root = m
			continue
		}
		if rest, ok := strings.CutPrefix(path, m.base); ok && (rest == "" || rest[0] == '/') {
			if rest == "" {
				rest = "/"
			}
			return m, rest
		}
	}
	if path == "/v2" || strings.HasPrefix(path, "/v2/") {
		for i := range r.mounts {
			if r.mounts[i].oci {
				return &r.mounts[i], path
			}
		}
	}
	if root != nil && strings.HasPrefix(path, "/") {
		return root, path
	}
	return nil, ""
}

// HandleRequest serves one request without HTTP, e.g. in unit tests (build
// the request with [core.NewRequest]). req.Path is the full request path,
// base path included, percent-encoded, without a query: the query goes in
// req.Query, and a Path with a "?" is refused with 400. Missing fields are
// filled in: Header, Body (empty), Actor, and BaseURL (the protocol's
// RegistryURL, else http://localhost plus its base path).
//
// It never panics: a handler's error (or panic) becomes an error response
// in the protocol's own format. A path below no mounted base path gets a
// 404 whose message names the base paths. The returned response is never
// nil and has a status and a header; the caller closes its body.
func (r *Registry) HandleRequest(ctx context.Context, req *core.RequestContext) (resp *core.Response) {
	if req == nil {
		return finish(core.JSONResponse(http.StatusBadRequest, map[string]string{"error": "no request"}))
	}
	if strings.Contains(req.Path, "?") {
		return finish(core.JSONResponse(http.StatusBadRequest, map[string]string{"error": fmt.Sprintf(
			"invalid argument: RequestContext.Path %q contains a \"?\": put the query in Query (core.NewRequest splits it)", req.Path)}))
	}
	m, rest := r.route(req.Path)
	if m == nil {
		return finish(r.notFound(req.Path))
	}
	sub := *req
	sub.Path = rest
	if sub.Header == nil {
		sub.Header = make(http.Header)
	}
	if sub.Body == nil {
		sub.Body = http.NoBody
	}
	if sub.Actor == nil {
		sub.Actor = &core.Actor{}
	}
	if sub.BaseURL == "" {
		sub.BaseURL = m.cfg.RegistryURL
	}
	if sub.BaseURL == "" {
		sub.BaseURL = "http://localhost" + strings.TrimSuffix(m.base, "/")
	}
	defer func() {
		if p := recover(); p != nil {
			r.log.ErrorContext(ctx, "handler panic", "base", m.base, "method", req.Method, "path", req.Path,
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			resp = r.errorResponse(ctx, m, &sub, fmt.Errorf("panic: %v", p))
		}
		resp = finish(resp)
	}()
	proto := m.handler.Protocol()
	ctx = core.WithActor(core.WithProtocol(ctx, proto), sub.Actor)
	resp, err := m.handler.Handle(ctx, &sub)
	if err != nil {
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		if core.HTTPStatus(err) >= 500 {
			r.log.ErrorContext(ctx, "request failed", "protocol", proto, "method", req.Method, "path", req.Path, "error", err)
		}
		return r.errorResponse(ctx, m, &sub, err)
	}
	if resp == nil {
		return core.NewResponse(http.StatusNoContent)
	}
	return resp
}

// errorResponse renders err with the handler's ErrorResponse, falling back
// to a plain JSON error should that panic or return nil.
func (r *Registry) errorResponse(ctx context.Context, m *mount, req *core.RequestContext, err error) (resp *core.Response) {
	defer func() {
		if p := recover(); p != nil {
			r.log.ErrorContext(ctx, "error response panic", "base", m.base, "panic", fmt.Sprint(p),
				"stack", string(debug.Stack()))
			resp = nil
		}
		if resp == nil {
			resp = core.JSONResponse(core.HTTPStatus(err), map[string]string{"error": core.ClientMessage(err)})
		}
	}()
	return m.handler.ErrorResponse(ctx, req, err)
}

// finish gives a response the status and header its writer expects, and
// the headers every response carries: X-Content-Type-Options: nosniff, so
// that no browser takes a served package or manifest for another type
// (HTML) than it was sent as.
func finish(resp *core.Response) *core.Response {
	if resp.Status == 0 {
		resp.Status = http.StatusOK
	}
	if resp.Header == nil {
		resp.Header = make(http.Header)
	}
	resp.Header.Set("X-Content-Type-Options", "nosniff")
	return resp
}

// notFound answers a path below no mounted base path, naming those there
// are, so that it is not mistaken for a missing package.
func (r *Registry) notFound(path string) *core.Response {
	bases := make([]string, 0, len(r.mounts)+1)
	for _, m := range r.mounts {
		bases = append(bases, fmt.Sprintf("%s (%s)", m.base, m.handler.Protocol()))
		if m.oci && m.base != "/" {
			bases = append(bases, "/v2 (oci)")
		}
	}
	slices.Sort(bases)
	list := strings.Join(bases, ", ")
	if list == "" {
		list = "none; enable a protocol in Config"
	}
	return core.JSONResponse(http.StatusNotFound, map[string]string{
		"error": fmt.Sprintf("not found: no registry protocol is mounted at %q; mounted base paths: %s", path, list),
	})
}

// Close stops the background work of the handlers (such as the cleanup
// of abandoned uploads). It does not wait for requests in flight, nor stop
// them: call it after [http.Server.Shutdown] has returned. Calling Close
// again does nothing and returns nil.
func (r *Registry) Close(ctx context.Context) error {
	if r.closed.Swap(true) {
		return nil
	}
	var errs []error
	for _, m := range r.mounts {
		if c, ok := m.handler.(interface{ Close(context.Context) error }); ok {
			errs = append(errs, c.Close(ctx))
		}
	}
	return errors.Join(errs...)
}
