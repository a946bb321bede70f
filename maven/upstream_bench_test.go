package maven

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/handlertest"
)

// BenchmarkUpstreamCached compares, on the filesystem backend, GETs of
// what an artifact deployed locally serves with the same artifact held
// upstream and cached here (the jar for good, the artifact-level
// maven-metadata.xml within its TTL), in alternating rounds
// (handlertest.CompareRates): a 1 MB jar, and the metadata of a
// 200-version artifact.
func BenchmarkUpstreamCached(b *testing.B) {
	ctx := b.Context()
	local := newTestEnvOn(b, handlertest.Filesystem(b), Config{}, core.StorageHooks{})
	local.deploy(ctx, "/org/bench/big/1.0/big-1.0.jar", strings.Repeat("jar bytes ", 100_000))
	seedVersions(b, local, "org.bench", "many", 200)
	local.deploy(ctx, "/org/bench/many/1.0/many-1.0.jar", "x")
	proxy := newProxyEnvOn(b, handlertest.Filesystem(b), core.StorageHooks{}, Config{}, core.Upstream{Name: "origin",
		URL: handlertest.Serve(b, local.h).URL, Token: adminToken})
	for _, tc := range []struct{ name, path string }{
		{"jar", "/org/bench/big/1.0/big-1.0.jar"},
		{"metadata", "/org/bench/many/maven-metadata.xml"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			get := func(e *testEnv) {
				req := core.NewRequest(http.MethodGet, tc.path, nil)
				req.Header.Set("Authorization", "Bearer "+adminToken)
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
