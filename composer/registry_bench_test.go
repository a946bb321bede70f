package composer_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/smartregistry/smartregistry"
	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// registryWith500 is a Registry on the memory backend with Composer at
// /composer and acme/big uploaded in 500 versions through HandleRequest.
func registryWith500(b *testing.B) *smartregistry.Registry {
	cfg := smartregistry.Config{
		Storage: smartregistry.StorageConfig{Backend: memory.New()},
		Auth:    smartregistry.AuthConfig{Tokens: []core.StaticToken{{Token: "bench", UserID: "admin"}}},
		Logger:  slog.New(slog.DiscardHandler),
	}
	cfg.Composer.Enabled = true
	reg, err := smartregistry.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { reg.Close(context.Background()) })
	for i := range 500 {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create("composer.json")
		fmt.Fprintf(w, `{"name":"acme/big","description":"a big package","type":"library","license":"MIT",
			"require":{"php":">=8.1","psr/log":"^3.0"},"autoload":{"psr-4":{"Acme\\Big\\":"src/"}},"version":"1.%d.0"}`, i)
		zw.Close()
		req := core.NewRequest(http.MethodPut, "/composer/packages/acme/big", &buf)
		req.Header.Set("Authorization", "Bearer bench")
		if resp := reg.HandleRequest(b.Context(), req); resp.Status != http.StatusCreated {
			b.Fatalf("upload %d: %d", i, resp.Status)
		}
	}
	return reg
}

// BenchmarkRegistryP2 measures GET /composer/p2/acme/big.json (500
// versions) through Registry.HandleRequest, as an embedding program calls
// it, and through Registry.ServeHTTP over loopback HTTP with parallel
// clients. Reported as requests/s.
func BenchmarkRegistryP2(b *testing.B) {
	reg := registryWith500(b)
	b.Run("HandleRequest", func(b *testing.B) {
		for b.Loop() {
			req := core.NewRequest(http.MethodGet, "/composer/p2/acme/big.json", nil)
			req.Header.Set("Authorization", "Bearer bench")
			resp := reg.HandleRequest(b.Context(), req)
			if resp.Status != http.StatusOK {
				b.Fatalf("status %d", resp.Status)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	})
	b.Run("HTTP", func(b *testing.B) {
		srv := httptest.NewServer(reg)
		defer srv.Close()
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, _ := http.NewRequestWithContext(b.Context(), http.MethodGet, srv.URL+"/composer/p2/acme/big.json", nil)
				req.Header.Set("Authorization", "Bearer bench")
				resp, err := client.Do(req)
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
