package npm

import (
	"io"
	"net/http"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/handlertest"
)

// BenchmarkUpstreamPackumentCached compares GET of the abbreviated
// document of a 500-version package held locally with the same package
// held upstream and cached here (within its TTL), alternating rounds of
// both so that both see the same machine, on the filesystem backend. It
// reports each rate and cached/local (issue 15: within 10%).
func BenchmarkUpstreamPackumentCached(b *testing.B) {
	ctx := b.Context()
	local := newTestEnv(b, handlertest.Filesystem(b))
	seedPackument(ctx, b, local, "many", 500)
	proxy := newProxyEnvOn(b, handlertest.Filesystem(b), core.StorageHooks{}, Config{}, core.Upstream{Name: "origin", URL: serveEnv(b, local).URL, Token: adminToken})
	header := http.Header{"Accept": {abbreviatedType}, "Authorization": {"Bearer " + adminToken}}
	get := func(e *testEnv) {
		req := &core.RequestContext{Method: http.MethodGet, Path: "/many", Header: header, Body: http.NoBody,
			Actor: &core.Actor{}, BaseURL: testBase}
		resp, err := e.h.Handle(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	get(proxy) // fills the cache
	handlertest.CompareRates(b, func() { get(local) }, func() { get(proxy) })
}
