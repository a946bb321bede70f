package cargo

import (
	"io"
	"net/http"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/handlertest"
)

// BenchmarkUpstreamCached compares, on the filesystem backend, GETs of
// what a crate held locally serves with the same crate held upstream and
// cached here (the index file within its TTL; the .crate for good),
// alternating rounds of both so that both see the same machine: the index
// file of a 200-version crate, and a 1 MB-ish .crate. It reports each
// rate and cached/local time (issue 15: within 10%).
func BenchmarkUpstreamCached(b *testing.B) {
	ctx := b.Context()
	local := newTestEnvOn(b, handlertest.Filesystem(b), false, noHooks)
	for _, body := range crateSeries(b, "many", 200) {
		if r := local.publish(ctx, adminToken, body); r.status != http.StatusOK {
			b.Fatalf("publish: %d %s", r.status, r.body)
		}
	}
	local.mustPublish(ctx, testCrate{name: "big", vers: "1.0.0", payload: 100_000})
	proxy := newProxyEnvOn(b, handlertest.Filesystem(b), noHooks, Config{}, core.Upstream{Name: "origin",
		URL: serveEnv(b, local).URL + "/cargo", Token: adminToken})
	for _, tc := range []struct{ name, path string }{
		{"index", "/ma/ny/many"},
		{"crate", "/api/v1/crates/big/1.0.0/download"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			get := func(e *testEnv) {
				req := &core.RequestContext{Method: http.MethodGet, Path: tc.path, Header: http.Header{"Authorization": {adminToken}},
					Body: http.NoBody, Actor: &core.Actor{}, BaseURL: testBaseURL}
				resp, err := e.h.Handle(ctx, req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			get(proxy) // fills the cache
			get(proxy)
			handlertest.CompareRates(b, func() { get(local) }, func() { get(proxy) })
		})
	}
}
