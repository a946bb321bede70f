package pypi

import (
	"errors"
	"slices"
	"testing"

	"github.com/smartregistry/smartregistry/core"
)

func TestNormalizeName(t *testing.T) {
	for in, want := range map[string]string{
		"friendly-bard": "friendly-bard", "Friendly-Bard": "friendly-bard", "FRIENDLY-BARD": "friendly-bard",
		"friendly.bard": "friendly-bard", "friendly_bard": "friendly-bard", "friendly--bard": "friendly-bard",
		"FrIeNdLy-._.-bArD": "friendly-bard", "a": "a",
	} {
		if got := NormalizeName(in); got != want {
			t.Errorf("NormalizeName(%q) = %q, want %q", in, got, want)
		}
	}
	// The letters that fold to ASCII ones under (?i) (Kelvin sign, long s)
	// are not ASCII either: PEP 508 names are.
	for _, bad := range []string{"", "-a", "a-", ".a", "a b", "a/b", "ä", "\u212aeras", "\u017fix", "si\u017f"} {
		if ValidateName(bad) == nil {
			t.Errorf("ValidateName(%q) accepted", bad)
		}
	}
}

func TestParseFilename(t *testing.T) {
	tests := []struct {
		in   string
		want Filename
		ok   bool
	}{
		{"foo-1.0-py3-none-any.whl", Filename{"foo", "1.0", TypeWheel, "py3"}, true},
		{"foo_bar-1.0rc1-1-cp311-cp311-manylinux_2_17_x86_64.whl", Filename{"foo_bar", "1.0rc1", TypeWheel, "cp311"}, true},
		{"foo-1.0+local.1-py2.py3-none-any.whl", Filename{"foo", "1.0+local.1", TypeWheel, "py2.py3"}, true},
		{"foo-1.0.tar.gz", Filename{"foo", "1.0", TypeSdist, "source"}, true},
		{"foo-bar-1.0.zip", Filename{"foo-bar", "1.0", TypeSdist, "source"}, true},
		{"foo-1.0.whl", Filename{}, false},
		{"foo--1.0-py3-none-any.whl", Filename{}, false},
		{"foo.tar.gz", Filename{}, false},
		{"foo-.tar.gz", Filename{}, false},
		{"foo-1.0.exe", Filename{}, false},
		{"../foo-1.0.tar.gz", Filename{}, false},
		{"a/foo-1.0.tar.gz", Filename{}, false},
		{"foo..-1.0.tar.gz", Filename{}, false},
		{".foo-1.0.tar.gz", Filename{}, false},
		{"foo-1.0.tar.gz\x00", Filename{}, false},
		{"", Filename{}, false},
	}
	for _, tt := range tests {
		got, err := ParseFilename(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseFilename(%q) = %+v, %v; want %+v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, core.ErrInvalidArgument) {
			t.Errorf("ParseFilename(%q): error %v is not ErrInvalidArgument", tt.in, err)
		}
	}
}

func TestParseMetadata(t *testing.T) {
	raw := "Metadata-Version: 2.1\r\nName: Foo\r\nVersion: 1.0\r\nSummary: A thing\r\n" +
		"Requires-Dist: bar>=1\r\nRequires-Dist: baz; extra == \"x\"\r\nRequires-Python: >=3.8\r\n" +
		"Classifier: A\r\nClassifier: B\r\nLicense: line one\r\n        line two\r\n" +
		"Project-URL: Home, https://x\r\n\r\nBody text\r\nmore\r\n"
	m, err := ParseMetadata([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "Foo" || m.Version != "1.0" || m.Summary != "A thing" || m.RequiresPython != ">=3.8" ||
		!slices.Equal(m.RequiresDist, []string{"bar>=1", `baz; extra == "x"`}) || !slices.Equal(m.Classifiers, []string{"A", "B"}) ||
		m.License != "line one\nline two" || m.Description != "Body text\r\nmore\r\n" || m.ProjectURLs[0] != "Home, https://x" {
		t.Fatalf("parsed %+v", m)
	}
	for _, bad := range []string{"", "Name: foo\n", "Version: 1\n", " cont\nName: x\nVersion: 1\n", "garbage\n"} {
		if _, err := ParseMetadata([]byte(bad)); !errors.Is(err, core.ErrInvalidArgument) {
			t.Errorf("ParseMetadata(%q) = %v, want ErrInvalidArgument", bad, err)
		}
	}
}

// TestResolvable decides which sdists' PKG-INFO is announced as
// data-core-metadata (PEP 643).
func TestResolvable(t *testing.T) {
	tests := []struct {
		version string
		dynamic []string
		want    bool
	}{
		{"1.0", nil, false},
		{"2.1", nil, false},
		{"2.2", nil, true},
		{"2.4", []string{"License", "Classifier"}, true},
		{"2.3", []string{"Requires-Dist"}, false},
		{"2.2", []string{"requires-python"}, false},
		{"2.2", []string{"Provides-Extra"}, false},
		{"2.10", nil, true},
		{"3.0", nil, true},
		{"", nil, false},
		{"x.y", nil, false},
	}
	for _, tt := range tests {
		raw := "Metadata-Version: " + tt.version + "\nName: a\nVersion: 1\n"
		for _, d := range tt.dynamic {
			raw += "Dynamic: " + d + "\n"
		}
		m, err := ParseMetadata([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		if got := m.resolvable(); got != tt.want {
			t.Errorf("Metadata-Version %q, Dynamic %v: resolvable = %v, want %v", tt.version, tt.dynamic, got, tt.want)
		}
	}
}

func TestVersion(t *testing.T) {
	norm := map[string]string{
		"1.0": "1.0", "v1.0": "1.0", "1.0.0": "1.0.0", "1.0-alpha1": "1.0a1", "1.0.a.1": "1.0a1", "1.0c2": "1.0rc2",
		"1.0.preview3": "1.0rc3", "1.0-1": "1.0.post1", "1.0.rev2": "1.0.post2", "1.0post": "1.0.post0", "1.0-dev": "1.0.dev0",
		"1!2.0": "1!2.0", "1.0+Ubuntu-1": "1.0+ubuntu.1", "01.002": "1.2", "1.0RC1.POST2.DEV3": "1.0rc1.post2.dev3",
	}
	for in, want := range norm {
		v, err := ParseVersion(in)
		if err != nil || v.String() != want {
			t.Errorf("ParseVersion(%q) = %q, %v; want %q", in, v, err, want)
		}
	}
	for _, bad := range []string{"", "1.0-", "abc", "1..0", "1.0+", "1.0+a..b", "not.a.version", "1.0.po\u017ft1", "1.0+\u017f", "1.0+\u212a"} {
		if _, err := ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q) accepted", bad)
		}
	}
	// PEP 440's ordering example, ascending.
	order := []string{"1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12", "1.0b1.dev456", "1.0b2",
		"1.0b2.post345.dev456", "1.0b2.post345", "1.0rc1.dev456", "1.0rc1", "1.0", "1.0+abc.5", "1.0+abc.7", "1.0+5",
		"1.0.post456.dev34", "1.0.post456", "1.0.15", "1.1.dev1", "1!0.1"}
	for i := 1; i < len(order); i++ {
		a, _ := ParseVersion(order[i-1])
		b, _ := ParseVersion(order[i])
		if a.Compare(b) >= 0 || b.Compare(a) <= 0 {
			t.Errorf("%s should sort before %s", order[i-1], order[i])
		}
	}
	if a, b := must(ParseVersion("1.0")), must(ParseVersion("1.0.0")); a.Compare(b) != 0 {
		t.Error("1.0 and 1.0.0 should compare equal")
	}
	doc := projectDoc{Releases: map[string]releaseRecord{"not-pep440": {}}}
	for _, v := range order {
		doc.Releases[v] = releaseRecord{}
	}
	if got := doc.versions(); !slices.Equal(got, append([]string{"not-pep440"}, order...)) {
		t.Errorf("sorted %v", got)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		accept, format string
		want           variant
		ct             string
		err            bool
	}{
		{"", "", variantHTML, "text/html; charset=utf-8", false},
		{"*/*", "", variantHTML, "text/html; charset=utf-8", false},
		{"application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01", "", variantJSON, ContentTypeJSON, false},
		{"application/vnd.pypi.simple.latest+json", "", variantJSON, ContentTypeJSON, false},
		{"application/vnd.pypi.simple.latest+html", "", variantHTML, ContentTypeHTML, false},
		{"text/html", "", variantHTML, "text/html; charset=utf-8", false},
		{"application/vnd.pypi.simple.v1+json;q=0.2, application/vnd.pypi.simple.v1+html;q=0.9", "", variantHTML, ContentTypeHTML, false},
		{"application/vnd.pypi.simple.v1+json, */*;q=0.1", "", variantJSON, ContentTypeJSON, false},
		{"application/vnd.pypi.simple.v1+json;q=0, */*", "", variantHTML, "text/html; charset=utf-8", false},
		{"application/*", "", variantHTML, ContentTypeHTML, false},
		{"image/png", "", variantHTML, "text/html; charset=utf-8", false},
		{"text/html", ContentTypeJSON, variantJSON, ContentTypeJSON, false},
		{"", "text/html", variantHTML, "text/html; charset=utf-8", false},
		{"", "application/xml", 0, "", true},
	}
	for _, tt := range tests {
		v, ct, err := negotiate(tt.accept, tt.format)
		if (err != nil) != tt.err || v != tt.want || ct != tt.ct {
			t.Errorf("negotiate(%q, %q) = %v, %q, %v; want %v, %q, err=%v", tt.accept, tt.format, v, ct, err, tt.want, tt.ct, tt.err)
		}
	}
}
