package composer

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/smartregistry/smartregistry/core"
)

// TestNormalizeVersion checks NormalizeVersion against what Composer's own
// parser answers: the expected values were printed by
// Composer\Semver\VersionParser::normalize (composer/semver as Debian 12's
// composer 2.5.5 ships it).
func TestNormalizeVersion(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"1.2.3", "1.2.3.0"}, {"1.0", "1.0.0.0"}, {"v1.0.0", "1.0.0.0"}, {"1.2.3.4", "1.2.3.4"},
		{"1.0.0-beta1", "1.0.0.0-beta1"}, {"2.0b", "2.0.0.0-beta"}, {"1.0.0-RC2", "1.0.0.0-RC2"},
		{"1.0.0-rc.1", "1.0.0.0-RC1"}, {"1.0-p.5+foo", "1.0.0.0-patch5"}, {"1.0.0-alpha", "1.0.0.0-alpha"},
		{"1.0.0a2", "1.0.0.0-alpha2"}, {"1.0.0-patch1", "1.0.0.0-patch1"}, {"1.0.0-stable", "1.0.0.0"},
		{"1.0.0-dev", "1.0.0.0-dev"}, {"1.x-dev", "1.9999999.9999999.9999999-dev"},
		{"2.1.x-dev", "2.1.9999999.9999999-dev"}, {"dev-main", "dev-main"}, {"dev-feature/foo", "dev-feature/foo"},
		{"master", "dev-master"}, {"1.0.0+build.5", "1.0.0.0"}, {"20230101", "20230101"},
		{"2023.01.01", "2023.01.01.0"}, {"2023-01-01-1", "2023.01.01.1"}, {"v2.0.0-beta1", "2.0.0.0-beta1"},
		{"1.2-RC2-dev", "1.2.0.0-RC2-dev"}, {"1.0.0-beta", "1.0.0.0-beta"}, {"1.0.0-b2.3", "1.0.0.0-beta2.3"},
		// Refused, as by Composer.
		{"not a version", ""}, {"1.0.0.0.0", ""}, {"main", ""}, {"", ""},
		// Refused here, where Composer is laxer: an empty or odd branch name.
		{"dev-", ""}, {"dev-a b", ""},
	} {
		got, err := NormalizeVersion(c.in)
		if c.want == "" {
			if !errors.Is(err, core.ErrInvalidArgument) {
				t.Errorf("NormalizeVersion(%q) = %q, %v; want ErrInvalidArgument", c.in, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("NormalizeVersion(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	want := []string{"dev-feature", "dev-main", "1.0.0.0-dev", "1.0.0.0-alpha1", "1.0.0.0-beta1-dev", "1.0.0.0-beta1",
		"1.0.0.0-beta2", "1.0.0.0-RC1", "1.0.0.0", "1.0.0.0-patch1", "1.0.1.0", "1.9999999.9999999.9999999-dev", "2.0.0.0", "10.0.0.0"}
	got := slices.Clone(want)
	slices.Reverse(got)
	slices.SortStableFunc(got, compareVersions)
	if !slices.Equal(got, want) {
		t.Errorf("sorted:\n%v\nwant\n%v", got, want)
	}
	for _, c := range []struct {
		v   string
		dev bool
	}{{"dev-main", true}, {"1.9999999.9999999.9999999-dev", true}, {"1.0.0.0-dev", true}, {"1.0.0.0", false}, {"1.0.0.0-RC1", false}} {
		if IsDev(c.v) != c.dev {
			t.Errorf("IsDev(%q) = %v", c.v, !c.dev)
		}
	}
}

func TestValidateName(t *testing.T) {
	for name, ok := range map[string]bool{
		"acme/util": true, "acme-corp/my.util_2": true, "a/b": true, "acme/util--x": true,
		"Acme/util": false, "acme": false, "acme/": false, "/util": false, "acme/util/x": false, "acme/-util": false,
		"acme/util-": false, "../etc": false, "acme/ util": false,
	} {
		if err := ValidateName(name); (err == nil) != ok {
			t.Errorf("ValidateName(%q) = %v", name, err)
		}
	}
}

func TestParseManifest(t *testing.T) {
	m, err := ParseManifest([]byte(`{
		"name": "acme/util", "version": "1.0.0", "description": "Utilities", "type": "library",
		"license": ["MIT", "GPL-2.0-only"], "require": {"php": ">=8.1"}, "autoload": {"psr-4": {"Acme\\Util\\": "src/"}},
		"repositories": [{"type": "vcs", "url": "x"}], "config": {"x": 1}, "scripts": {"test": "phpunit"},
		"extra": {"branch-alias": {"dev-main": "1.x-dev"}}, "keywords": ["a", "b"]
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "acme/util" || m.Version != "1.0.0" || m.Description != "Utilities" || m.Type != "library" {
		t.Errorf("%+v", m)
	}
	var keys []string
	for k := range m.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"autoload", "description", "extra", "keywords", "license", "require", "type"}; !slices.Equal(keys, want) {
		t.Errorf("fields %v, want %v", keys, want)
	}
	if string(m.Fields["require"]) != `{"php":">=8.1"}` {
		t.Errorf("require not compact: %s", m.Fields["require"])
	}
	if m, err := ParseManifest([]byte("\xef\xbb\xbf{\"name\": \"acme/bom\"}")); err != nil || m.Name != "acme/bom" {
		t.Errorf("composer.json with a byte order mark: %v", err)
	}
	for _, bad := range []string{
		`[]`, `{"name": 1}`, `{"version": "1.0"}`, `{"name": "a/b", "require": ["x"]}`, `{"name": "a/b", "autoload": "x"}`,
		`{"name": "a/b", "license": 3}`, `{"name": "a/b", "keywords": "x"}`, `{"name": "a/b", "authors": {}}`,
	} {
		if _, err := ParseManifest([]byte(bad)); !errors.Is(err, core.ErrInvalidArgument) {
			t.Errorf("ParseManifest(%s) = %v", bad, err)
		}
	}
}

// TestMinify checks the composer/2.0 form against the rule of Composer's
// MetadataMinifier, and that Expand gives the versions back.
func TestMinify(t *testing.T) {
	f := func(kv ...string) []field {
		var out []field
		for i := 0; i < len(kv); i += 2 {
			out = append(out, field{kv[i], json.RawMessage(kv[i+1])})
		}
		return out
	}
	versions := [][]field{
		f("a", `1`, "b", `"x"`, "c", `{"k":1}`),
		f("a", `1`, "b", `"y"`, "c", `{"k":1}`),
		f("a", `2`, "c", `{"k":1}`),
		f("a", `2`, "b", `"y"`, "c", `{"k":1}`),
	}
	var buf bytes.Buffer
	minify(&buf, versions)
	want := `[{"a":1,"b":"x","c":{"k":1}},{"b":"y"},{"a":2,"b":"__unset"},{"b":"y"}]`
	if buf.String() != want {
		t.Errorf("minified\n%s\nwant\n%s", buf.String(), want)
	}
	var minified []map[string]json.RawMessage
	if err := json.Unmarshal(buf.Bytes(), &minified); err != nil {
		t.Fatal(err)
	}
	for i, v := range Expand(minified) {
		if len(v) != len(versions[i]) {
			t.Errorf("version %d expands to %v", i, v)
		}
		for _, fl := range versions[i] {
			if !bytes.Equal(v[fl.key], fl.value) {
				t.Errorf("version %d: %s = %s, want %s", i, fl.key, v[fl.key], fl.value)
			}
		}
	}
}
