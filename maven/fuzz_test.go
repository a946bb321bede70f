package maven

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
)

// FuzzParseCoordinates: a path that parses makes valid storage keys below
// its own prefixes, is refused with ErrInvalidArgument otherwise, and
// round-trips through Coordinates.Path.
func FuzzParseCoordinates(f *testing.F) {
	for _, s := range []string{"com/example/app/1.0/app-1.0.jar", "a/b/1.0-SNAPSHOT/b-1.0-20260101.000000-1-sources.jar",
		"com/../app/1.0/x", "com//x/1/y", "./a/b/c", "a/b/c/d/e/f/g.h", "a/b/1.0/b-1.0..jar"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		c, err := ParseCoordinates(p)
		if err != nil {
			if !errors.Is(err, core.ErrInvalidArgument) {
				t.Fatalf("error %v is not ErrInvalidArgument", err)
			}
			return
		}
		if c.Path() != p {
			t.Fatalf("ParseCoordinates(%q).Path() = %q", p, c.Path())
		}
		fn, err := ParseFileName(c.Artifact, c.Version, c.File)
		if err != nil {
			return
		}
		if fn.Build != "" && !IsSnapshot(c.Version) {
			t.Fatalf("a build %q in release %q", fn.Build, c.Version)
		}
		for _, k := range []string{versionKey(c.Group, c.Artifact, c.Version), artifactKey(c.Group, c.Artifact),
			groupKey(c.Group), fileKey(c.Group, c.Artifact, c.Version, "obj")} {
			if err := core.ValidateKey(k); err != nil || !strings.HasPrefix(k, rootPrefix) {
				t.Fatalf("%q makes key %q (%v)", p, k, err)
			}
		}
	})
}

// FuzzParseMetadata: any input is parsed or refused with
// ErrInvalidArgument or ErrTooLarge; what parses renders and parses again
// to the same level and versions.
func FuzzParseMetadata(f *testing.F) {
	for _, s := range []string{artifactMetadata("g", "a", "1", "2"), "<metadata/>", "<metadata><plugins/></metadata>",
		`<?xml version="1.0"?><metadata modelVersion="1.1.0"><version>1</version></metadata>`, "<a>", "x", "<metadata>&amp;</metadata>"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMetadata(bytes.NewReader(b), 1<<16)
		if err != nil {
			if !errors.Is(err, core.ErrInvalidArgument) && !errors.Is(err, core.ErrTooLarge) {
				t.Fatalf("error %v is neither ErrInvalidArgument nor ErrTooLarge", err)
			}
			return
		}
		out, err := m.render()
		if err != nil {
			return // e.g. a name that XML cannot carry
		}
		m2, err := ParseMetadata(bytes.NewReader(out), 1<<20)
		if err != nil {
			t.Fatalf("rendered metadata does not parse: %v\n%s", err, out)
		}
		if m2.Level() != m.Level() || strings.Join(m2.VersionList(), "\x00") != strings.Join(m.VersionList(), "\x00") {
			t.Fatalf("round trip changed the metadata:\n%s", out)
		}
	})
}
