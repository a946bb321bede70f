// Command server is the example smartregistry server: every built protocol
// on one port, with filesystem storage in ./data and no other set-up.
//
//	go run ./examples/server
//
// Configuration comes from flags or environment variables:
//
//	SMARTREGISTRY_ADDR            listen address (default 127.0.0.1:8080; port 0 picks a free one)
//	SMARTREGISTRY_DATA            filesystem storage directory (default ./data)
//	SMARTREGISTRY_URL             public URL of the server, used in generated links
//	SMARTREGISTRY_S3_ENDPOINT     switch to S3: host:port of the endpoint
//	SMARTREGISTRY_S3_BUCKET       bucket (default smartregistry)
//	SMARTREGISTRY_S3_ACCESS_KEY   access key
//	SMARTREGISTRY_S3_SECRET_KEY   secret key
//	SMARTREGISTRY_S3_SSL          "true" for https
//	SMARTREGISTRY_ADMIN_USER      admin user name (default admin)
//	SMARTREGISTRY_ADMIN_PASSWORD  admin password (default: generated and printed once)
//	SMARTREGISTRY_TOKEN           a fixed admin token with all scopes, for scripts and CI
//	SMARTREGISTRY_JWT_SECRET      secret for OCI bearer tokens, at least 32 bytes (share it between replicas;
//	                              e.g. openssl rand -hex 32); random per process when unset
//	SMARTREGISTRY_ANONYMOUS_READ  comma-separated protocols anyone may read, e.g. "oci,pypi"
//	SMARTREGISTRY_UPSTREAM_<P>    upstream registries of protocol P (NPM, PYPI, OCI, CARGO, COMPOSER, RUBYGEMS,
//	                              MAVEN): comma-separated URLs, first choice first, each what P's client is
//	                              pointed at; https://user:secret@host/path sends HTTP Basic, https://:token@host
//	                              a Bearer token; a fragment of ";"-separated globs limits the names asked
//	                              ("#@acme/*"), "!" excludes ("#!@acme/*")
//	SMARTREGISTRY_UPSTREAM_TTL    how long fetched metadata is served before the upstream is asked again
//	                              (default 5m)
//	SMARTREGISTRY_UPSTREAM_MERGE  "true": a package held here also shows the upstream's versions (Policy.Merge)
//
// It serves GET /healthz (with the upstreams' circuit breakers), logs each request, and on SIGINT or SIGTERM stops
// accepting connections and finishes the requests in flight.
//
// Timeouts: request headers must arrive within 10 s; a request body may
// stall for at most 2 minutes (each read that brings data pushes the
// deadline on), and a request, body included, lasts at most 6 hours
// (10 GB at 0.5 MB/s); an idle keep-alive connection is closed after 2
// minutes. Put a proxy in front for other values.
//
// Failed password checks are throttled (core.DefaultLoginThrottle): after 5
// failures for a user name, or 20 from one IP, within 15 minutes, further
// attempts are refused with 429 for 1 s, doubling per failure up to 15
// minutes; the counters are kept in storage, so replicas share them.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/smartregistry/smartregistry"
	"github.com/smartregistry/smartregistry/upstream"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		log.Error("server stopped", "error", err)
		os.Exit(1)
	}
}

// run serves until ctx is done, then shuts down gracefully: it stops
// accepting connections and waits for requests in flight. The listening
// line and a generated password go to out.
func run(ctx context.Context, log *slog.Logger, args []string, getenv func(string) string, out io.Writer) error {
	opts, err := parseOptions(args, getenv)
	if err != nil {
		return err
	}
	cfg, backendName, err := opts.registryConfig(log, out)
	if err != nil {
		return err
	}
	reg, err := smartregistry.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", opts.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	var breakers *upstream.Breakers
	if bs, ok := cfg.Upstream.(upstream.BreakerSource); ok {
		breakers = bs.Breakers()
	}
	srv := newHTTPServer(newRootHandler(reg, backendName, breakers), defaultTimeouts)
	// This line is read by scripts and tests to learn the port.
	fmt.Fprintf(out, "smartregistry listening on http://%s\n", ln.Addr())
	log.Info("serving", "addr", ln.Addr().String(), "storage", backendName)

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down; finishing requests in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if cerr := reg.Close(shutdownCtx); err == nil {
		err = cerr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
