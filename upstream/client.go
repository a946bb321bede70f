package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

// Errors of a fetch. Both wrap a core category, so a protocol's error
// function gives them their status: 404, and 503.
var (
	// ErrNotFound: every upstream asked answered 404 (or 410), or none
	// serves the name.
	ErrNotFound = fmt.Errorf("%w upstream", core.ErrNotFound)
	// ErrUnavailable: no upstream answered (errors, timeouts, 5xx, open
	// breakers), and nothing stale was cached.
	ErrUnavailable = fmt.Errorf("%w: no upstream answered", core.ErrUnavailable)
)

// Policy is the cache policy of a protocol's upstream client. Protocols
// embed it in their Config; zero values mean defaults.
type Policy struct {
	// MetadataTTL is how long a cached metadata document is served without
	// asking the upstream again; default 5m.
	MetadataTTL time.Duration
	// StaleWhileRevalidate is how long past its TTL a document is still
	// served at once while a background request revalidates it; 0 (the
	// default) revalidates before answering. Whatever its age, a stale
	// document is served when no upstream answers.
	StaleWhileRevalidate time.Duration
	// NegativeTTL is how long a 404 from every upstream is remembered;
	// default 1m, negative disables negative caching.
	NegativeTTL time.Duration
	// RequestTimeout bounds the wait for an upstream's response headers and
	// each pause between the reads of its body; default 30s. A timeout
	// counts as a failure for the upstream's breaker.
	RequestTimeout time.Duration
	// FillTimeout bounds an artifact's whole transfer into the cache once
	// the client has gone away; default 30m.
	FillTimeout time.Duration
	// LeaseTTL is how long a process may hold the lease of a key it is
	// fetching before others take over; default 30s.
	LeaseTTL time.Duration
	// MaxMetadataSize bounds a metadata document; default 64 MiB.
	MaxMetadataSize int64
	// MemoryCacheSize bounds the decoded documents kept in memory; default
	// 32 MiB.
	MemoryCacheSize int64
	// NewNamesNeedWrite makes protocols require the write action (instead
	// of read) from a caller whose request would fetch a package that
	// nothing has cached yet, so that readers cannot fill the cache with
	// arbitrary names; packages once cached stay readable with read.
	NewNamesNeedWrite bool
	// Merge makes a package held both locally and upstream show the
	// versions of both (local ones winning where both have a version or
	// tag), where the protocol supports it; otherwise the local package
	// shadows the upstream one entirely.
	Merge bool
}

func (p Policy) withDefaults() Policy {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&p.MetadataTTL, 5*time.Minute)
	def(&p.NegativeTTL, time.Minute)
	def(&p.RequestTimeout, 30*time.Second)
	def(&p.FillTimeout, 30*time.Minute)
	def(&p.LeaseTTL, 30*time.Second)
	if p.MaxMetadataSize <= 0 {
		p.MaxMetadataSize = 64 << 20
	}
	if p.MemoryCacheSize <= 0 {
		p.MemoryCacheSize = 32 << 20
	}
	return p
}

// BreakerSource is implemented by providers that own the breakers of their
// upstreams ([Static]); a [Client] without Config.Breakers uses them.
type BreakerSource interface {
	// Breakers returns the provider's breakers.
	Breakers() *Breakers
}

// Config configures a [Client].
type Config struct {
	// Protocol is the protocol the client fetches for.
	Protocol core.Protocol
	// Provider names the upstreams per package; required.
	Provider core.UpstreamProvider
	// Storage holds the cache; required.
	Storage *core.Storage
	// Policy is the cache policy.
	Policy Policy
	// Breakers are the circuit breakers to use; nil takes the provider's
	// when it is a [BreakerSource], else a set of the client's own with
	// default settings.
	Breakers *Breakers
	// HTTPClient sends the requests; nil means a client of this package's
	// own (no overall timeout: Policy.RequestTimeout bounds each wait).
	HTTPClient *http.Client
	// Logger receives background failures; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock of the cache policy; nil means time.Now.
	Now func() time.Time
}

// Client fetches from the upstreams of one protocol and caches what it
// fetched. It is safe for concurrent use.
type Client struct {
	cfg      Config
	policy   Policy
	breakers *Breakers
	http     *http.Client
	log      *slog.Logger
	now      func() time.Time
	flights  flights
	docs     *docCache
	// bg tracks background revalidations, for Close.
	bg sync.WaitGroup
}

// New returns a client for cfg.
func New(cfg Config) (*Client, error) {
	if cfg.Provider == nil || cfg.Storage == nil {
		return nil, errors.New("upstream: Provider and Storage are required")
	}
	c := &Client{cfg: cfg, policy: cfg.Policy.withDefaults(), breakers: cfg.Breakers, http: cfg.HTTPClient,
		log: cfg.Logger, now: cfg.Now}
	if c.breakers == nil {
		if bs, ok := cfg.Provider.(BreakerSource); ok && bs.Breakers() != nil {
			c.breakers = bs.Breakers()
		} else {
			c.breakers = NewBreakers(BreakerSettings{})
		}
	}
	if c.http == nil {
		c.http = &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     90 * time.Second,
			ForceAttemptHTTP2:   true,
		}}
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.docs = newDocCache(c.policy.MemoryCacheSize)
	return c, nil
}

// FromDeps returns the client a protocol handler built on deps uses: New
// with cfg's Provider, Storage and Logger taken from deps (Protocol,
// Policy and the rest are cfg's). It returns nil, nil when deps.Upstream
// is nil: the registry proxies nothing.
func FromDeps(deps core.Deps, cfg Config) (*Client, error) {
	if deps.Upstream == nil {
		return nil, nil
	}
	cfg.Provider, cfg.Storage, cfg.Logger = deps.Upstream, deps.Storage, deps.Logger
	return New(cfg)
}

// Breakers returns the client's circuit breakers.
func (c *Client) Breakers() *Breakers { return c.breakers }

// Policy returns the cache policy in force, defaults filled in.
func (c *Client) Policy() Policy { return c.policy }

// Close waits for background revalidations until ctx ends.
func (c *Client) Close(ctx context.Context) error {
	done := make(chan struct{})
	go func() { c.bg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Upstreams returns the upstreams that serve name, first choice first.
func (c *Client) Upstreams(ctx context.Context, name string) []core.Upstream {
	return c.cfg.Provider.Upstreams(ctx, c.cfg.Protocol, name)
}

// Response is an upstream's answer to [Client.Fetch].
type Response struct {
	// Upstream is the upstream that answered.
	Upstream core.Upstream
	// Status is 2xx, or 304 for a conditional request.
	Status int
	// Header holds the response headers.
	Header http.Header
	// Body is the response body; the caller closes it. A pause longer
	// than Policy.RequestTimeout between two reads fails the read.
	Body io.ReadCloser
}

// Fetch asks the upstreams of name, in order, for path (below each
// upstream's URL, starting with "/", percent-encoded as it goes on the
// wire), with header added to the request, and returns the first 2xx or 304
// answer. An upstream whose breaker is open is skipped; one that answers
// 404 or 410, 401 or 403, fails or times out is passed over for the next.
// With no answer it returns [ErrNotFound] when every upstream asked said
// 404 or 410, else [ErrUnavailable] wrapping the last failure.
func (c *Client) Fetch(ctx context.Context, name, path string, header http.Header) (*Response, error) {
	return c.fetch(ctx, http.MethodGet, name, path, header, "")
}

// Head is [Client.Fetch] with the HEAD method: it asks for an object's
// headers only (its size, say) and caches nothing. The answer's Body is
// empty; the caller closes it.
func (c *Client) Head(ctx context.Context, name, path string, header http.Header) (*Response, error) {
	return c.fetch(ctx, http.MethodHead, name, path, header, "")
}

// fetch is Fetch with method, where an absolute URL goes to the upstream
// named prefer when it serves name.
func (c *Client) fetch(ctx context.Context, method, name, path string, header http.Header, prefer string) (*Response, error) {
	ups := c.Upstreams(ctx, name)
	if len(ups) == 0 {
		return nil, fmt.Errorf("%w: no upstream serves %s", ErrNotFound, name)
	}
	if isAbsolute(path) {
		ups = []core.Upstream{ownerOf(ups, path, prefer)}
	}
	var last error
	allNotFound := true
	for _, u := range ups {
		resp, err := c.try(ctx, method, u, path, header)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !errors.Is(err, errMissing) {
			allNotFound = false
		}
		last = err
	}
	if allNotFound {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	return nil, fmt.Errorf("%w: %s: %w", ErrUnavailable, name, last)
}

// isAbsolute reports whether path is an absolute http(s) URL.
func isAbsolute(path string) bool {
	return strings.HasPrefix(path, "https://") || strings.HasPrefix(path, "http://")
}

// under reports whether the absolute URL target lies below base.
func under(target, base string) bool {
	base = strings.TrimSuffix(redact(base), "/")
	return target == base || strings.HasPrefix(target, base+"/")
}

// ownerOf returns the upstream named prefer, else the first an absolute URL
// lies under, else the first: an absolute URL is asked of one upstream
// only, through its breaker.
func ownerOf(ups []core.Upstream, target, prefer string) core.Upstream {
	for _, u := range ups {
		if prefer != "" && u.Name == prefer {
			return u
		}
	}
	for _, u := range ups {
		if under(target, u.URL) {
			return u
		}
	}
	return ups[0]
}

// errMissing is an upstream's 404 or 410.
var errMissing = errors.New("not found")

// errSkipped is an upstream skipped by its open breaker.
var errSkipped = errors.New("circuit breaker open")

// try asks one upstream, through its breaker.
func (c *Client) try(ctx context.Context, method string, u core.Upstream, path string, header http.Header) (*Response, error) {
	br := c.breakers.get(c.cfg.Protocol, u)
	done, err := br.cb.Allow()
	if err != nil {
		return nil, fmt.Errorf("upstream %s: %w", u.Name, errSkipped)
	}
	resp, err := c.do(ctx, method, u, path, header)
	switch {
	case err == nil, errors.Is(err, errMissing), errors.Is(err, errRefused):
		done(nil)
	case ctx.Err() != nil:
		done(context.Canceled) // the caller went away: no verdict on the upstream
	default:
		done(err)
	}
	return resp, err
}

// errRefused is an upstream's 401 or 403: it is up, but refuses.
var errRefused = errors.New("refused")

// errTimeout ends a request that waited longer than RequestTimeout.
var errTimeout = errors.New("timed out")

// do sends one request to u.
func (c *Client) do(ctx context.Context, method string, u core.Upstream, path string, header http.Header) (*Response, error) {
	rctx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(c.policy.RequestTimeout, func() { cancel(errTimeout) })
	fail := func(err error) (*Response, error) {
		timer.Stop()
		cancel(nil)
		if cause := context.Cause(rctx); errors.Is(cause, errTimeout) {
			err = cause
		}
		return nil, fmt.Errorf("upstream %s: %w", u.Name, err)
	}
	target := strings.TrimSuffix(u.URL, "/") + path
	if isAbsolute(path) {
		target = path
	}
	req, err := http.NewRequestWithContext(rctx, method, target, nil)
	if err != nil {
		return fail(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	switch {
	case target == path && !under(path, u.URL):
		// An absolute URL elsewhere (a CDN) gets no credentials.
	case u.Token != "":
		req.Header.Set("Authorization", "Bearer "+u.Token)
	case u.Username != "" || u.Password != "":
		req.SetBasicAuth(u.Username, u.Password)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fail(err)
	}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300, resp.StatusCode == http.StatusNotModified:
		timer.Reset(c.policy.RequestTimeout)
		return &Response{Upstream: u, Status: resp.StatusCode, Header: resp.Header,
			Body: &idleBody{rc: resp.Body, timer: timer, d: c.policy.RequestTimeout, ctx: rctx, cancel: cancel}}, nil
	}
	drain(resp.Body)
	switch resp.StatusCode {
	case http.StatusNotFound, http.StatusGone:
		err = errMissing
	case http.StatusUnauthorized, http.StatusForbidden:
		err = errRefused
	default:
		err = fmt.Errorf("status %d", resp.StatusCode)
	}
	return fail(fmt.Errorf("%s: %w", resp.Status, err))
}

// drain reads a little of an error body, so the connection can be reused,
// and closes it.
func drain(rc io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(rc, 64<<10))
	_ = rc.Close()
}

// idleBody fails a read that waits longer than d (the timer cancels the
// request's context) and ends the request's context on Close.
type idleBody struct {
	rc     io.ReadCloser
	timer  *time.Timer
	d      time.Duration
	ctx    context.Context
	cancel context.CancelCauseFunc
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.timer.Reset(b.d)
	}
	if err != nil && err != io.EOF {
		if cause := context.Cause(b.ctx); errors.Is(cause, errTimeout) {
			err = fmt.Errorf("%w: %w", cause, err)
		}
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	err := b.rc.Close()
	b.cancel(nil)
	return err
}
