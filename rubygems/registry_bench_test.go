package rubygems_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/smartregistry/smartregistry"
	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/rubygems"
)

// benchRegistry is a Registry with RubyGems at /rubygems on the memory
// backend, with 500 versions of "big" and 1,000 other gems pushed through
// HandleRequest.
func benchRegistry(b *testing.B) *smartregistry.Registry {
	cfg := smartregistry.Config{
		Storage: smartregistry.StorageConfig{Backend: memory.New()},
		Auth: smartregistry.AuthConfig{Tokens: []core.StaticToken{{Token: "bench", UserID: "admin"}},
			AnonymousRead: []core.Protocol{core.ProtocolRubyGems}},
		Logger: slog.New(slog.DiscardHandler),
	}
	cfg.RubyGems.Enabled = true
	reg, err := smartregistry.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { reg.Close(b.Context()) })
	push := func(gem []byte) {
		req := core.NewRequest(http.MethodPost, "/rubygems/api/v1/gems", bytes.NewReader(gem))
		req.Header.Set("Authorization", "bench")
		resp := reg.HandleRequest(b.Context(), req)
		if resp.Body != nil {
			resp.Body.Close()
		}
		if resp.Status != http.StatusOK {
			b.Fatalf("push: %d", resp.Status)
		}
	}
	for i := range 500 {
		push(rubygems.BuildGem(b, "big", fmt.Sprintf("1.%d.0", i)))
	}
	for i := range 1000 {
		push(rubygems.BuildGem(b, fmt.Sprintf("gem%04d", i), "1.0.0"))
	}
	return reg
}

// BenchmarkRegistryCompactIndex measures GET /rubygems/info/big (500
// versions) and GET /rubygems/versions (1,001 gems) through the root
// Registry's HandleRequest on one goroutine, and over loopback HTTP
// (Registry.ServeHTTP) with parallel clients, as requests/s.
func BenchmarkRegistryCompactIndex(b *testing.B) {
	reg := benchRegistry(b)
	srv := httptest.NewServer(reg)
	b.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for _, path := range []string{"/rubygems/info/big", "/rubygems/versions"} {
		b.Run("HandleRequest"+path, func(b *testing.B) {
			var n int64
			for b.Loop() {
				resp := reg.HandleRequest(b.Context(), core.NewRequest(http.MethodGet, path, nil))
				if resp.Status != http.StatusOK {
					b.Fatalf("%s: %d", path, resp.Status)
				}
				n, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			b.ReportMetric(float64(n), "body-bytes")
		})
		b.Run("HTTP"+path, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := client.Get(srv.URL + path)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}
