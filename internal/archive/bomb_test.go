package archive

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/internal/counting"
)

// paddingTarGz streams a tar.gz whose first member is size bytes of zeros
// (about 1 MB of gzip per GiB) followed by package/package.json. It is made
// as it is read, so a reader that stops early costs only what it read.
func paddingTarGz(size int64) *counting.Reader {
	pr, pw := io.Pipe()
	go func() {
		gz, _ := gzip.NewWriterLevel(pw, gzip.BestCompression)
		tw := tar.NewWriter(gz)
		err := tw.WriteHeader(&tar.Header{Name: "package/padding", Mode: 0o644, Size: size, Typeflag: tar.TypeReg})
		zeros := make([]byte, 1<<20)
		for left := size; err == nil && left > 0; left -= int64(len(zeros)) {
			_, err = tw.Write(zeros[:min(left, int64(len(zeros)))])
		}
		if err == nil {
			err = tw.WriteHeader(&tar.Header{Name: "package/package.json", Mode: 0o644, Size: 2, Typeflag: tar.TypeReg})
		}
		if err == nil {
			_, err = tw.Write([]byte("{}"))
		}
		if err == nil {
			err = tw.Close()
		}
		if err == nil {
			err = gz.Close()
		}
		pw.CloseWithError(err)
	}()
	return &counting.Reader{R: pr}
}

// TestTarGzInflationBounds: a gzip of 1 GiB of padding (~1 MB) stops being
// read after a few kilobytes, with an ErrInvalid error, by the ratio bound
// and by the total bound; an ordinary archive passes.
func TestTarGzInflationBounds(t *testing.T) {
	isPkg := func(n string) bool { return n == "package/package.json" }
	for _, tc := range []struct {
		name    string
		padding int64
		lim     Limits
		wantErr string // "" for success
		maxRead int64  // most compressed bytes the reader may take
	}{
		{"1 GiB padding, ratio", 1 << 30, Limits{}, "compression ratio", 64 << 10},
		{"1 GiB padding, total", 1 << 30, Limits{MaxRatio: 1 << 40, MaxInflated: 4 << 20}, "inflates to more than", 64 << 10},
		{"padding under the grace", 512 << 10, Limits{}, "", 1 << 20},
		{"padding at a low ratio", 8 << 20, Limits{MaxRatio: 2000}, "", 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := paddingTarGz(tc.padding)
			_, b, err := FromTarGz(src, isPkg, tc.lim)
			if tc.wantErr == "" {
				if err != nil || string(b) != "{}" {
					t.Fatalf("got %q, %v", b, err)
				}
			} else if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want ErrInvalid saying %q", err, tc.wantErr)
			}
			if src.N > tc.maxRead {
				t.Errorf("read %d compressed bytes, want at most %d", src.N, tc.maxRead)
			}
			if pr, ok := src.R.(*io.PipeReader); ok {
				pr.Close() // stops the writer
			}
		})
	}
}

// TestZipInflationBounds: a wheel member inflating at more than MaxRatio
// is refused once past the grace, whatever MaxMemberSize allows.
func TestZipInflationBounds(t *testing.T) {
	build := func(size int) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, err := zw.Create("foo-1.0.dist-info/METADATA")
		if err != nil {
			t.Fatal(err)
		}
		w.Write(make([]byte, size))
		zw.Close()
		return buf.Bytes()
	}
	isMeta := func(n string) bool { return strings.HasSuffix(n, "/METADATA") }
	for _, tc := range []struct {
		name    string
		size    int
		lim     Limits
		wantErr bool
	}{
		{"16 MiB of zeros", 16 << 20, Limits{MaxMemberSize: 1 << 30}, true},
		{"small member of zeros", 64 << 10, Limits{}, false},
		{"zeros, ratio allowed", 4 << 20, Limits{MaxRatio: 2000}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z := build(tc.size)
			_, b, err := FromZip(bytes.NewReader(z), int64(len(z)), isMeta, tc.lim)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "ratio") {
					t.Fatalf("error %v, want the ratio bound", err)
				}
				return
			}
			if err != nil || len(b) != tc.size {
				t.Fatalf("got %d bytes, %v", len(b), err)
			}
		})
	}
}
