package cargo_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"archive/tar"
	"compress/gzip"

	smartregistry "github.com/smartregistry/smartregistry"
	"github.com/smartregistry/smartregistry/cargo"
	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// BenchmarkIndexFileHTTP measures GET of the index file of a crate with
// 500 versions over loopback HTTP through the Registry (cached, memory
// backend, a token on every request as cargo sends it with
// auth-required), as requests/s on one connection.
func BenchmarkIndexFileHTTP(b *testing.B) {
	reg, err := smartregistry.New(smartregistry.Config{
		Storage: smartregistry.StorageConfig{Backend: memory.New()},
		Auth:    smartregistry.AuthConfig{Tokens: []core.StaticToken{{Token: "t", UserID: "admin"}}},
		Cargo:   cargo.Config{ProtocolConfig: core.ProtocolConfig{Enabled: true}},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { reg.Close(context.Background()) })
	srv := httptest.NewServer(reg)
	b.Cleanup(srv.Close)
	client := srv.Client()
	do := func(method, path string, body []byte) (int, int) {
		req, _ := http.NewRequestWithContext(b.Context(), method, srv.URL+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "t")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, int(n)
	}
	for i := range 500 {
		if st, _ := do(http.MethodPut, "/cargo/api/v1/crates/new", publishBody(b, "big", fmt.Sprintf("1.%d.0", i))); st != http.StatusOK {
			b.Fatalf("publish: %d", st)
		}
	}
	var size int
	for b.Loop() {
		st, n := do(http.MethodGet, "/cargo/3/b/big", nil)
		if st != http.StatusOK {
			b.Fatalf("%d", st)
		}
		size = n
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(float64(size), "file-bytes")
}

// publishBody is a publish of a minimal crate in cargo's wire format.
func publishBody(b *testing.B, name, vers string) []byte {
	meta, _ := json.Marshal(map[string]any{"name": name, "vers": vers, "features": map[string]any{"default": []string{}},
		"deps": []map[string]any{{"name": "serde", "version_req": "^1.0", "features": []string{"derive"}, "optional": false,
			"default_features": true, "target": nil, "kind": "normal", "registry": nil, "explicit_name_in_toml": nil}}})
	var crate bytes.Buffer
	gz := gzip.NewWriter(&crate)
	tw := tar.NewWriter(gz)
	toml := fmt.Sprintf("[package]\nname = %q\nversion = %q\n", name, vers)
	tw.WriteHeader(&tar.Header{Name: name + "-" + vers + "/Cargo.toml", Mode: 0o644, Size: int64(len(toml))})
	tw.Write([]byte(toml))
	tw.Close()
	gz.Close()
	var buf bytes.Buffer
	binary.Write(&buf, binary.LittleEndian, uint32(len(meta)))
	buf.Write(meta)
	binary.Write(&buf, binary.LittleEndian, uint32(crate.Len()))
	buf.Write(crate.Bytes())
	return buf.Bytes()
}
