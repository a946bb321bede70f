package composer

import (
	"archive/zip"
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
)

// FuzzNormalizeVersion: a version is normalized or refused with
// ErrInvalidArgument; a normalized version normalizes to itself, and it
// is dev exactly when it is a branch.
func FuzzNormalizeVersion(f *testing.F) {
	for _, s := range []string{"1.2.3", "v1.0-beta.2", "1.x-dev", "dev-main", "master", "20230101", "1.0+build",
		"1.0.0.0.0", "dev-", "1.2-RC2-dev", "v", "9999999-dev"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		n, err := NormalizeVersion(v)
		if err != nil {
			if !errors.Is(err, core.ErrInvalidArgument) {
				t.Fatalf("error %v is not ErrInvalidArgument", err)
			}
			return
		}
		if strings.ContainsAny(n, "\t\n") || n == "" {
			t.Fatalf("NormalizeVersion(%q) = %q: not an entry id", v, n)
		}
		again, err := NormalizeVersion(n)
		if err != nil || again != n {
			t.Fatalf("NormalizeVersion(%q) = %q, which normalizes to %q, %v", v, n, again, err)
		}
		_ = compareVersions(n, "1.0.0.0")
	})
}

// FuzzReadManifest: any bytes are read as a zip or refused with
// ErrInvalidArgument, within the bounds, without panicking; a manifest
// that is read is at most the size bound.
func FuzzReadManifest(f *testing.F) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("pkg/composer.json")
	w.Write([]byte(`{"name":"acme/util","version":"1.0.0"}`))
	zw.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	f.Add([]byte("not a zip"))
	lim := zipLimits{maxEntries: 100, maxManifest: 4096, maxRatio: 100}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := readManifest(bytes.NewReader(b), int64(len(b)), lim)
		if err != nil {
			if !errors.Is(err, core.ErrInvalidArgument) {
				t.Fatalf("error %v is not ErrInvalidArgument", err)
			}
			return
		}
		if int64(len(m)) > lim.maxManifest {
			t.Fatalf("manifest of %d bytes", len(m))
		}
		if _, err := ParseManifest(m); err != nil && !errors.Is(err, core.ErrInvalidArgument) {
			t.Fatalf("ParseManifest: %v", err)
		}
	})
}
