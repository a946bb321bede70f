package pypi

import (
	"errors"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
)

// FuzzParseFilename: a file name that parses is short enough for its
// metadata key, makes valid storage keys under its project's folder, and
// names a project and version that are its own parts.
func FuzzParseFilename(f *testing.F) {
	for _, s := range []string{"foo-1.0-py3-none-any.whl", "foo_bar-1.0rc1-1-cp311-cp311-manylinux_2_17_x86_64.whl",
		"foo-1.0.tar.gz", "foo-bar-1.0.zip", "../foo-1.0.tar.gz", "foo--1.0-py3-none-any.whl", "foo-.tar.gz", ".foo-1.0.tar.gz",
		"foo-1.0.tar.gz\x00", "a-1.whl"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, filename string) {
		fn, err := ParseFilename(filename)
		if err != nil {
			if !errors.Is(err, core.ErrInvalidArgument) {
				t.Fatalf("error %v is not ErrInvalidArgument", err)
			}
			return
		}
		if len(filename) > maxFilename || fn.Project == "" || fn.Version == "" || !strings.HasPrefix(filename, fn.Project+"-") ||
			!strings.Contains(filename, "-"+fn.Version) {
			t.Fatalf("ParseFilename(%q) = %+v", filename, fn)
		}
		project := NormalizeName(fn.Project)
		if ValidateName(fn.Project) != nil {
			return // refused later by the upload's name check
		}
		for _, k := range []string{fileKey(project, filename), metadataKey(project, filename)} {
			if err := core.ValidateKey(k); err != nil || !strings.HasPrefix(k, filesPrefix+project+"/") {
				t.Fatalf("file %q makes key %q (%v)", filename, k, err)
			}
		}
	})
}

// FuzzParseMetadata: any input is parsed or refused with
// ErrInvalidArgument; parsed metadata has a name and a version, no header
// value over the field cap, and parsing is deterministic.
func FuzzParseMetadata(f *testing.F) {
	for _, s := range []string{"Metadata-Version: 2.1\nName: foo\nVersion: 1.0\nRequires-Dist: bar>=1\n\nbody",
		"Name: foo\nVersion: 1.0\nDescription: a\n        |b\n        |c\n", " continued\n", "Name foo\n", ": x\n",
		"Name: foo\r\nVersion: 1\r\n\r\n", "Name: a\nVersion: 1\nDynamic: Requires-Dist\nMetadata-Version: 2.2\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMetadata(b)
		if err != nil {
			if !errors.Is(err, core.ErrInvalidArgument) {
				t.Fatalf("error %v is not ErrInvalidArgument", err)
			}
			return
		}
		if m.Name == "" || m.Version == "" || len(m.Summary) > maxMetadataField || len(m.Name) > maxMetadataField {
			t.Fatalf("parsed %+v", m)
		}
		again, err := ParseMetadata(b)
		if err != nil || again.Name != m.Name || again.Description != m.Description || len(again.RequiresDist) != len(m.RequiresDist) {
			t.Fatalf("a second parse differs: %+v, %v", again, err)
		}
	})
}

// FuzzParseVersion: a version that parses prints in a normal form that
// parses to an equal version and is its own normal form; comparison is
// reflexive and antisymmetric.
func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"1.0", "1!2.0.post1.dev3+local.7", "1.0RC1", "v1.0-alpha", "1.0.0-1", "  2.0  ", "1..0",
		"99999999999999999999999", "1.0+", "1.0.dev", "1.0a", "1.0-post"} {
		f.Add(s, "1.0")
	}
	f.Fuzz(func(t *testing.T, s, other string) {
		v, err := ParseVersion(s)
		if err != nil {
			if !errors.Is(err, core.ErrInvalidArgument) {
				t.Fatalf("error %v is not ErrInvalidArgument", err)
			}
			return
		}
		norm := v.String()
		w, err := ParseVersion(norm)
		if err != nil || w.String() != norm || v.Compare(w) != 0 {
			t.Fatalf("%q normalizes to %q, which parses to %q (%v)", s, norm, w.String(), err)
		}
		if o, err := ParseVersion(other); err == nil && v.Compare(o) != -o.Compare(v) {
			t.Fatalf("Compare(%q, %q) = %d, reverse %d", s, other, v.Compare(o), o.Compare(v))
		}
	})
}
