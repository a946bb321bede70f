package cargo

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
)

// FuzzReadPublishMetadata: any body is read or refused with
// ErrInvalidArgument or ErrTooLarge; accepted metadata has a valid name
// and version, makes valid storage keys, and an index line that is one
// line of JSON that decodes back to the same name and version.
func FuzzReadPublishMetadata(f *testing.F) {
	for _, s := range []string{`{"name":"foo","vers":"1.0.0","deps":[]}`,
		`{"name":"foo","vers":"1.0.0-rc.1+b","deps":[{"name":"bar","version_req":"^1","explicit_name_in_toml":"baz","kind":"dev"}],"features":{"a":["dep:baz"]}}`,
		`{"name":"../x","vers":"1.0.0"}`, `{"name":"foo","vers":"1.0"}`, `{`, `null`, `{"name":"foo\n","vers":"1.0.0"}`} {
		f.Add(wireBody([]byte(s), nil))
	}
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := ReadPublishMetadata(bytes.NewReader(body), 1<<16)
		if err != nil {
			if !errors.Is(err, core.ErrInvalidArgument) && !errors.Is(err, core.ErrTooLarge) {
				t.Fatalf("error %v is neither ErrInvalidArgument nor ErrTooLarge", err)
			}
			return
		}
		if ValidateName(m.Name) != nil {
			t.Fatalf("accepted name %q", m.Name)
		}
		if _, err := ParseVersion(m.Vers); err != nil {
			t.Fatalf("accepted version %q", m.Vers)
		}
		crate := NormalizeName(m.Name)
		for _, k := range []string{crateKey(crate), fileKey(crate, "x")} {
			if err := core.ValidateKey(k); err != nil || strings.Contains(strings.TrimPrefix(k, rootPrefix), "..") {
				t.Fatalf("name %q makes key %q (%v)", m.Name, k, err)
			}
		}
		line, err := json.Marshal(IndexEntryFor(m, "00"))
		if err != nil || bytes.IndexByte(line, '\n') >= 0 {
			t.Fatalf("index line %q: %v", line, err)
		}
		var back IndexEntry
		if err := json.Unmarshal(line, &back); err != nil || back.Name != m.Name || back.Vers != m.Vers {
			t.Fatalf("index line %s decodes to %+v (%v)", line, back, err)
		}
	})
}

// FuzzParseManifest: any Cargo.toml is parsed or refused with
// ErrInvalidArgument, and a parsed one has a name and a version.
func FuzzParseManifest(f *testing.F) {
	for _, s := range []string{"[package]\nname = \"foo\"\nversion = \"1.0.0\"\n", "[package]\nname = 'a'\nversion = \"\\u0031\"",
		"[package]\nname = \"\\\"", "name = \"x\"", "[package]\nname = \"a\" # c\nversion = '1' # d\n[lib]\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			if !errors.Is(err, core.ErrInvalidArgument) {
				t.Fatalf("error %v is not ErrInvalidArgument", err)
			}
			return
		}
		if m.Name == "" || m.Version == "" {
			t.Fatalf("ParseManifest = %+v", m)
		}
	})
}

// FuzzParseVersion: a version that parses formats back to itself, and
// compares equal to itself.
func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"1.0.0", "1.0.0-alpha.1+b.2", "01.0.0", "1.0", "1.0.0-", "0.0.0-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVersion(s)
		if err != nil {
			return
		}
		if v.String() != s || v.Compare(v) != 0 {
			t.Fatalf("ParseVersion(%q) = %+v (%s)", s, v, v)
		}
	})
}
