package rubygems

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/handlertest"
)

// BenchmarkUpstreamCached compares, on the filesystem backend, GETs of
// what a gem held locally serves with the same gem held upstream and
// cached here (the /info file within its TTL; the .gem for good), in
// alternating rounds (handlertest.CompareRates): the /info file of a
// 200-version gem, and its newest .gem.
func BenchmarkUpstreamCached(b *testing.B) {
	ctx := b.Context()
	local := newTestEnvOn(b, handlertest.Filesystem(b), false, Config{})
	for i := range 200 {
		local.mustPush(ctx, fixture{name: "many", version: fmt.Sprintf("1.%d.0", i), payload: 1000})
	}
	proxy := newProxyEnvOn(b, handlertest.Filesystem(b), core.StorageHooks{}, Config{}, core.Upstream{Name: "origin",
		URL: handlertest.Serve(b, local.h).URL, Token: adminToken})
	for _, tc := range []struct{ name, path string }{
		{"info", "/info/many"},
		{"gem", "/gems/many-1.199.0.gem"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			get := func(e *testEnv) {
				req := handlertest.Request(b, http.MethodGet, tc.path, nil, "http://registry.test/rubygems")
				req.Header.Set("Authorization", adminToken)
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
