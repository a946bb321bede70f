package pypi

import (
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/handlertest"
)

// BenchmarkUpstreamPageCached compares GET of the JSON simple page of a
// 100-version project (200 files) held locally with the same project held
// upstream and cached here (within its TTL), alternating rounds of both so
// that both see the same machine, on the filesystem backend. It reports
// each rate and cached/local.
func BenchmarkUpstreamPageCached(b *testing.B) {
	ctx := b.Context()
	local := newTestEnvOn(b, handlertest.Filesystem(b), false)
	for i := range 100 {
		local.mustUpload(ctx, dist{name: "many", version: "1." + strconv.Itoa(i)})
	}
	srv := local.serve()
	b.Cleanup(srv.Close)
	proxy := newProxyEnvOn(b, handlertest.Filesystem(b), core.StorageHooks{}, Config{},
		core.Upstream{Name: "origin", URL: srv.URL, Username: "__token__", Password: adminToken})
	header := http.Header{"Accept": {pipAccept}, "Authorization": {basicAuth("__token__", adminToken)}}
	get := func(e *testEnv) {
		req := &core.RequestContext{Method: http.MethodGet, Path: "/simple/many/", Header: header, Body: http.NoBody,
			Actor: &core.Actor{}, BaseURL: testBaseURL}
		resp := e.handle(ctx, req)
		if resp.Status != http.StatusOK {
			b.Fatalf("status %d", resp.Status)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	get(proxy) // fills the cache
	handlertest.CompareRates(b, func() { get(local) }, func() { get(proxy) })
}
