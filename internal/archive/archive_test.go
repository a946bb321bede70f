package archive

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"testing"
)

func tarGz(t *testing.T, files map[string]string, order []string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, name := range order {
		body := files[name]
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

func TestFromTarGz(t *testing.T) {
	isPkg := func(n string) bool { return n == "package/package.json" }
	tests := []struct {
		name  string
		data  []byte
		lim   Limits
		want  string
		isErr bool
	}{
		{"found", tarGz(t, map[string]string{"package/a.js": "x", "package/package.json": "{}"}, []string{"package/a.js", "package/package.json"}), Limits{}, "{}", false},
		{"dot-slash", tarGz(t, map[string]string{"./package/package.json": "{}"}, []string{"./package/package.json"}), Limits{}, "{}", false},
		{"missing", tarGz(t, map[string]string{"package/a.js": "x"}, []string{"package/a.js"}), Limits{}, "", true},
		{"traversal", tarGz(t, map[string]string{"../package.json": "{}"}, []string{"../package.json"}), Limits{}, "", true},
		{"too big", tarGz(t, map[string]string{"package/package.json": "0123456789"}, []string{"package/package.json"}), Limits{MaxMemberSize: 4}, "", true},
		{"not gzip", []byte("plain"), Limits{}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, b, err := FromTarGz(bytes.NewReader(tt.data), isPkg, tt.lim)
			if tt.isErr {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("err = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil || string(b) != tt.want {
				t.Fatalf("got %q, %v", b, err)
			}
		})
	}
}

func TestFromZip(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("demo-1.0.dist-info/METADATA")
	w.Write([]byte("Name: demo\n"))
	zw.Close()
	data := buf.Bytes()
	name, b, err := FromZip(bytes.NewReader(data), int64(len(data)), func(n string) bool { return n == "demo-1.0.dist-info/METADATA" }, Limits{})
	if err != nil || string(b) != "Name: demo\n" || name != "demo-1.0.dist-info/METADATA" {
		t.Fatalf("got %q %q %v", name, b, err)
	}
	if _, _, err := FromZip(bytes.NewReader([]byte("nope")), 4, func(string) bool { return true }, Limits{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
}
