package cargo

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
)

func TestValidateName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"foo", true}, {"Foo_Bar-2", true}, {"a", true}, {strings.Repeat("a", 64), true},
		{"", false}, {strings.Repeat("a", 65), false}, {"1foo", false}, {"-foo", false}, {"_foo", false},
		{"foo/bar", false}, {"..", false}, {"foo..bar", false}, {"föö", false}, {"foo bar", false}, {"foo\x00", false},
	} {
		if err := ValidateName(tc.name); (err == nil) != tc.ok || (err != nil && !errors.Is(err, core.ErrInvalidArgument)) {
			t.Errorf("ValidateName(%q) = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

func TestIndexPathAndNormalizeName(t *testing.T) {
	for _, tc := range []struct{ name, path, normalized string }{
		{"a", "1/a", "a"}, {"AB", "2/ab", "ab"}, {"abc", "3/a/abc", "abc"}, {"Serde_JSON", "se/rd/serde_json", "serde-json"},
		{"cargo", "ca/rg/cargo", "cargo"},
	} {
		if got := IndexPath(tc.name); got != tc.path {
			t.Errorf("IndexPath(%q) = %q, want %q", tc.name, got, tc.path)
		}
		if got := NormalizeName(tc.name); got != tc.normalized {
			t.Errorf("NormalizeName(%q) = %q, want %q", tc.name, got, tc.normalized)
		}
	}
}

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		s  string
		ok bool
	}{
		{"0.1.0", true}, {"1.2.3-alpha.1", true}, {"1.2.3+build.5", true}, {"1.2.3-rc.1+b", true}, {"1.0.0-0a", true},
		{"", false}, {"1.0", false}, {"01.0.0", false}, {"1.0.0-01", false}, {"1.0.0-", false}, {"1.0.0+", false},
		{"1.0.0-a..b", false}, {"1.0.0 ", false}, {"v1.0.0", false}, {"99999999999999999999.0.0", false},
		{"1.0.0-" + strings.Repeat("a", 130), false},
	} {
		v, err := ParseVersion(tc.s)
		if (err == nil) != tc.ok {
			t.Errorf("ParseVersion(%q) = %v, want ok %v", tc.s, err, tc.ok)
			continue
		}
		if err == nil && v.String() != tc.s {
			t.Errorf("ParseVersion(%q).String() = %q", tc.s, v.String())
		}
	}
	// Precedence, lowest first (semver.org §11).
	order := []string{"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
		"1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0"}
	for i := range order {
		for j := range order {
			a, _ := ParseVersion(order[i])
			b, _ := ParseVersion(order[j])
			want := 0
			switch {
			case i < j:
				want = -1
			case i > j:
				want = 1
			}
			if got := a.Compare(b); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", order[i], order[j], got, want)
			}
		}
	}
	a, _ := ParseVersion("1.0.0+a")
	if b, _ := ParseVersion("1.0.0+b"); a.Compare(b) != 0 || a.withoutBuild() != "1.0.0" {
		t.Errorf("build metadata counts in precedence")
	}
}

func TestParseManifest(t *testing.T) {
	for _, tc := range []struct {
		name, toml string
		want       Manifest
		ok         bool
	}{
		{"normalized", "# generated\n[package]\nedition = \"2021\"\nname = \"foo\"\nversion = \"1.0.0\"\n\n[dependencies.bar]\nversion = \"1\"\nname = \"x\"\n",
			Manifest{"foo", "1.0.0"}, true},
		{"literal strings and comments", "[package]\nname = 'foo' # the name\nversion=\"1.0.0-rc.1\"\n", Manifest{"foo", "1.0.0-rc.1"}, true},
		{"escapes", "[package]\nname = \"f\\u006fo\"\nversion = \"1.0.0\"\n", Manifest{"foo", "1.0.0"}, true},
		{"name outside [package]", "name = \"foo\"\n[package]\nversion = \"1.0.0\"\n", Manifest{}, false},
		{"no package", "[lib]\nname = \"foo\"\n", Manifest{}, false},
		{"not a string", "[package]\nname = foo\nversion = \"1.0.0\"\n", Manifest{}, false},
		{"unterminated", "[package]\nname = \"foo\nversion = \"1.0.0\"\n", Manifest{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseManifest([]byte(tc.toml))
			if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
				t.Errorf("ParseManifest = %+v, %v; want %+v, ok %v", got, err, tc.want, tc.ok)
			}
			if err != nil && !errors.Is(err, core.ErrInvalidArgument) {
				t.Errorf("error %v is not ErrInvalidArgument", err)
			}
		})
	}
}

func TestIndexEntryFor(t *testing.T) {
	m, err := ParsePublishMetadata([]byte(`{"name":"foo","vers":"1.0.0","deps":[
		{"name":"bar","version_req":"^1","features":[],"optional":true,"default_features":false,"target":null,"kind":"normal","registry":null,"explicit_name_in_toml":"baz"},
		{"name":"cc","version_req":"^1","features":["x"],"optional":false,"default_features":true,"target":"cfg(windows)","kind":"build","registry":"https://github.com/rust-lang/crates.io-index","explicit_name_in_toml":null}],
		"features":{"default":["std"],"std":[],"b":["dep:baz"],"w":["baz?/x"]},"links":"z","rust_version":"1.70","description":"d"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(IndexEntryFor(m, "abc"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"foo","vers":"1.0.0","deps":[` +
		`{"name":"baz","req":"^1","features":[],"optional":true,"default_features":false,"target":null,"kind":"normal","package":"bar"},` +
		`{"name":"cc","req":"^1","features":["x"],"optional":false,"default_features":true,"target":"cfg(windows)","kind":"build","registry":"https://github.com/rust-lang/crates.io-index"}],` +
		`"cksum":"abc","features":{"default":["std"],"std":[]},"features2":{"b":["dep:baz"],"w":["baz?/x"]},"yanked":false,"links":"z","v":2,"rust_version":"1.70"}`
	if string(b) != want {
		t.Errorf("index line\n got %s\nwant %s", b, want)
	}
}

func TestReadPublishMetadata(t *testing.T) {
	meta := []byte(`{"name":"foo","vers":"1.0.0","deps":[]}`)
	for _, tc := range []struct {
		name string
		body []byte
		max  int64
		err  error
	}{
		{"ok", wireBody(meta, nil), 1 << 10, nil},
		{"over the limit", wireBody(meta, nil), 10, core.ErrTooLarge},
		{"truncated", wireBody(meta, nil)[:20], 1 << 10, core.ErrInvalidArgument},
		{"empty", nil, 1 << 10, core.ErrInvalidArgument},
		{"too many deps", wireBody([]byte(`{"name":"foo","vers":"1.0.0","deps":[`+strings.Repeat(`{"name":"a","version_req":"1"},`, maxDeps)+`{"name":"a","version_req":"1"}]}`), nil), 1 << 20, core.ErrInvalidArgument},
		{"bad kind", wireBody([]byte(`{"name":"foo","vers":"1.0.0","deps":[{"name":"a","version_req":"1","kind":"weird"}]}`), nil), 1 << 10, core.ErrInvalidArgument},
		{"bad rename", wireBody([]byte(`{"name":"foo","vers":"1.0.0","deps":[{"name":"a","version_req":"1","explicit_name_in_toml":"a/b"}]}`), nil), 1 << 10, core.ErrInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ReadPublishMetadata(bytes.NewReader(tc.body), tc.max)
			if tc.err == nil && (err != nil || m.Name != "foo") || tc.err != nil && !errors.Is(err, tc.err) {
				t.Errorf("ReadPublishMetadata = %+v, %v; want %v", m, err, tc.err)
			}
		})
	}
}
