package oci_test

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/internal/e2etest"
	"github.com/smartregistry/smartregistry/oci"
)

// BenchmarkCranePushPull pushes a 256 MiB image (four 64 MiB uncompressed
// layers, from an OCI layout) to the example server with crane and pulls
// it back, and reports the throughput of each direction in MB/s.
func BenchmarkCranePushPull(b *testing.B) {
	crane := e2etest.RequireTool(b, "crane")
	srv := e2etest.StartServer(b, e2etest.Options{})
	c := newClient(b)
	c.run(crane, "auth", "login", srv.Host, "-u", srv.AdminUser, "-p", srv.AdminPassword)
	const layers, layerSize = 4, 64 << 20
	layout := filepath.Join(c.dir, "layout")
	writeLayout(b, layout, layers, layerSize)
	total := float64(layers * layerSize)

	var push, pull time.Duration
	for i := 0; b.Loop(); i++ {
		ref := fmt.Sprintf("%s/bench/app%d:v1", srv.Host, i)
		start := time.Now()
		c.run(crane, "push", layout, ref)
		push += time.Since(start)
		out := filepath.Join(c.dir, fmt.Sprintf("pulled%d", i))
		start = time.Now()
		c.run(crane, "pull", "--format", "oci", ref, out)
		pull += time.Since(start)
		b.StopTimer()
		os.RemoveAll(out)
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(total*n/1e6/push.Seconds(), "push-MB/s")
	b.ReportMetric(total*n/1e6/pull.Seconds(), "pull-MB/s")
	b.ReportMetric(2*total*n/1e6/(push+pull).Seconds(), "MB/s")
}

// writeLayout writes an OCI image layout holding one image of n layers of
// size random bytes each (uncompressed tar layers).
func writeLayout(b *testing.B, dir string, n, size int) {
	b.Helper()
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		b.Fatal(err)
	}
	writeBlob := func(write func(io.Writer) error) oci.Descriptor {
		f, err := os.CreateTemp(blobs, "tmp-")
		if err != nil {
			b.Fatal(err)
		}
		h := sha256.New()
		if err := write(io.MultiWriter(f, h)); err != nil {
			b.Fatal(err)
		}
		st, err := f.Stat()
		if err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		hexSum := hex.EncodeToString(h.Sum(nil))
		if err := os.Rename(f.Name(), filepath.Join(blobs, hexSum)); err != nil {
			b.Fatal(err)
		}
		return oci.Descriptor{Digest: "sha256:" + hexSum, Size: st.Size()}
	}
	writeJSON := func(v any) oci.Descriptor {
		return writeBlob(func(w io.Writer) error { return json.NewEncoder(w).Encode(v) })
	}
	src := rand.NewChaCha8([32]byte{7})
	var descs []oci.Descriptor
	var diffIDs []string
	for i := range n {
		d := writeBlob(func(w io.Writer) error {
			tw := tar.NewWriter(w)
			if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("layer%d.bin", i), Mode: 0o644, Size: int64(size), Typeflag: tar.TypeReg}); err != nil {
				return err
			}
			if _, err := io.CopyN(tw, src, int64(size)); err != nil {
				return err
			}
			return tw.Close()
		})
		d.MediaType = "application/vnd.oci.image.layer.v1.tar"
		descs = append(descs, d)
		diffIDs = append(diffIDs, d.Digest)
	}
	cfg := writeJSON(map[string]any{"architecture": "amd64", "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs}})
	cfg.MediaType = "application/vnd.oci.image.config.v1+json"
	m := writeJSON(oci.Manifest{SchemaVersion: 2, MediaType: oci.MediaTypeImageManifest, Config: &cfg, Layers: descs})
	m.MediaType = oci.MediaTypeImageManifest
	index, err := json.Marshal(oci.Manifest{SchemaVersion: 2, MediaType: oci.MediaTypeImageIndex, Manifests: []oci.Descriptor{m}})
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), index, 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		b.Fatal(err)
	}
}
