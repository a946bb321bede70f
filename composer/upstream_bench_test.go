package composer

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/handlertest"
)

// BenchmarkUpstreamCached compares GET of a 50-version package's /p2/ file
// and of one of its zips held locally with the same package held upstream
// and cached here (within its TTL), alternating rounds of both so that
// both see the same machine, on the filesystem backend. It reports each
// rate and cached/local (issue 15: within 10%).
func BenchmarkUpstreamCached(b *testing.B) {
	ctx := b.Context()
	local := newTestEnvOn(b, handlertest.Filesystem(b), noHooks, Config{})
	for i := range 50 {
		local.mustUpload(ctx, pkg{name: "acme/many", version: fmt.Sprintf("1.0.%d", i)}, "")
	}
	proxy := newProxyEnvOn(b, handlertest.Filesystem(b), Config{}, core.Upstream{Name: "origin", URL: local.serve().URL, Token: adminToken})
	header := http.Header{"Authorization": {"Bearer " + adminToken}}
	get := func(e *testEnv, path string) {
		req := &core.RequestContext{Method: http.MethodGet, Path: path, Header: header, Body: http.NoBody,
			Actor: &core.Actor{}, BaseURL: testBaseURL}
		resp := handlertest.Handle(ctx, e.h, req)
		if resp.Status != http.StatusOK {
			b.Fatalf("GET %s: %d", path, resp.Status)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	zipPath := func(e *testEnv) string {
		r := e.do(ctx, request{method: "GET", path: "/p2/acme/many.json", token: adminToken})
		return strings.TrimPrefix(p2Dists(b, r.body)["1.0.7"]["url"], testBaseURL)
	}
	localZip, proxyZip := zipPath(local), zipPath(proxy)
	get(proxy, proxyZip) // fills the cache
	for _, c := range []struct{ name, localPath, proxyPath string }{
		{"p2", "/p2/acme/many.json", "/p2/acme/many.json"},
		{"zip", localZip, proxyZip},
	} {
		b.Run(c.name, func(b *testing.B) {
			handlertest.CompareRates(b, func() { get(local, c.localPath) }, func() { get(proxy, c.proxyPath) })
		})
	}
}
