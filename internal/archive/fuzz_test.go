package archive

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"path"
	"strings"
	"testing"
)

// checkMember is the property of every member returned: a clean relative
// name that matched, no larger than the limit.
func checkMember(t *testing.T, name string, b []byte, err error, lim Limits) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("error %v is not ErrInvalid", err)
		}
		return
	}
	if name == "" || strings.HasPrefix(name, "/") || path.Clean(name) != name || name == ".." || strings.HasPrefix(name, "../") ||
		!strings.HasSuffix(name, "METADATA") {
		t.Fatalf("returned member %q", name)
	}
	if int64(len(b)) > lim.withDefaults().MaxMemberSize {
		t.Fatalf("member of %d bytes over the limit", len(b))
	}
}

var fuzzLimits = Limits{MaxMemberSize: 1 << 10, MaxEntries: 64, MaxInflated: 1 << 20, RatioGrace: 1 << 12}

func isMetadata(n string) bool { return strings.HasSuffix(n, "METADATA") }

// FuzzFromTarGz reads arbitrary bytes as a tar.gz: no panic, a member
// only as checkMember allows, any failure ErrInvalid.
func FuzzFromTarGz(f *testing.F) {
	for _, files := range [][][2]string{
		{{"pkg/METADATA", "Name: x"}},
		{{"../METADATA", "x"}},
		{{"/abs/METADATA", "x"}},
		{{"a/b", strings.Repeat("z", 5000)}, {"a/METADATA", strings.Repeat("m", 2000)}},
	} {
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		for _, fl := range files {
			tw.WriteHeader(&tar.Header{Name: fl[0], Mode: 0o644, Size: int64(len(fl[1])), Typeflag: tar.TypeReg})
			tw.Write([]byte(fl[1]))
		}
		tw.Close()
		gz.Close()
		f.Add(buf.Bytes())
	}
	f.Add([]byte("not gzip"))
	f.Fuzz(func(t *testing.T, data []byte) {
		name, b, err := FromTarGz(bytes.NewReader(data), isMetadata, fuzzLimits)
		checkMember(t, name, b, err, fuzzLimits)
	})
}

// FuzzFromZip reads arbitrary bytes as a zip: the same properties.
func FuzzFromZip(f *testing.F) {
	for _, files := range [][][2]string{
		{{"x.dist-info/METADATA", "Name: x"}},
		{{"..\\METADATA", "x"}},
		{{"a/", ""}, {"a/METADATA", strings.Repeat("m", 2000)}},
		{{"big/METADATA", strings.Repeat("\x00", 100_000)}},
	} {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, fl := range files {
			w, _ := zw.Create(fl[0])
			w.Write([]byte(fl[1]))
		}
		zw.Close()
		f.Add(buf.Bytes())
	}
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	f.Fuzz(func(t *testing.T, data []byte) {
		name, b, err := FromZip(bytes.NewReader(data), int64(len(data)), isMetadata, fuzzLimits)
		checkMember(t, name, b, err, fuzzLimits)
	})
}
