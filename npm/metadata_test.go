package npm

import (
	"slices"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"left-pad", true}, {"@team/app", true}, {"a.b_c~d", true}, {"x", true},
		{"", false}, {"..", false}, {".hidden", false}, {"_under", false}, {"Upper", false}, {"@Team/app", false},
		{"@team/", false}, {"@/app", false}, {"@team", false}, {"a/b", false}, {"a b", false}, {"a..b", false},
		{"@team/..", false}, {"node_modules", false}, {"a%2fb", false}, {strings.Repeat("a", 215), false},
	}
	for _, tt := range tests {
		if err := validateName(tt.name); (err == nil) != tt.ok {
			t.Errorf("validateName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestVersions(t *testing.T) {
	valid := []string{"1.0.0", "0.0.1", "1.2.3-beta.1", "1.0.0-0.3.7", "1.0.0+build.5", "10.20.30-rc.1+x"}
	invalid := []string{"", "1.0", "v1.0.0", "01.0.0", "1.0.0-", "1.0.0-01", "1.0.0+", "a.b.c", "1.0.0-be ta"}
	for _, v := range valid {
		if !validVersion(v) {
			t.Errorf("%q should be valid", v)
		}
	}
	for _, v := range invalid {
		if validVersion(v) {
			t.Errorf("%q should be invalid", v)
		}
	}
	ordered := []string{"0.9.0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
		"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.10.0", "2.0.0"}
	shuffled := slices.Clone(ordered)
	slices.Reverse(shuffled)
	slices.SortFunc(shuffled, compareVersions)
	if !slices.Equal(shuffled, ordered) {
		t.Errorf("sorted %v", shuffled)
	}
	if h := highestVersion([]string{"1.0.0", "2.0.0-beta.1", "1.5.0"}); h != "1.5.0" {
		t.Errorf("highest stable = %s", h)
	}
	if h := highestVersion([]string{"1.0.0-a", "1.0.0-b"}); h != "1.0.0-b" {
		t.Errorf("highest pre-release = %s", h)
	}
}

func TestTags(t *testing.T) {
	for tag, ok := range map[string]bool{"latest": true, "beta": true, "next-2": true, "1.0.0": false, "": false, "a/b": false} {
		if validTag(tag) != ok {
			t.Errorf("validTag(%q) != %v", tag, ok)
		}
	}
}

func TestCanonicalPath(t *testing.T) {
	tests := map[string]string{
		"/left-pad":                       "/left-pad",
		"/@scope/pkg":                     "/@scope%2fpkg",
		"/@scope%2fpkg":                   "/@scope%2fpkg",
		"/@scope%2Fpkg/1.0.0":             "/@scope%2Fpkg/1.0.0",
		"/@scope/pkg/-/pkg-1.0.0.tgz":     "/@scope%2fpkg/-/pkg-1.0.0.tgz",
		"/@scope":                         "/@scope",
		"/-/package/@scope/pkg/dist-tags": "/-/package/@scope/pkg/dist-tags",
		"/@scope/pkg/-rev/3-abc":          "/@scope%2fpkg/-rev/3-abc",
	}
	for in, want := range tests {
		if got := canonicalPath(in); got != want {
			t.Errorf("canonicalPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestETagMatches(t *testing.T) {
	tests := []struct {
		header, etag string
		want         bool
	}{
		{`"a"`, `"a"`, true}, {`W/"a"`, `"a"`, true}, {`"b", "a"`, `"a"`, true}, {`*`, `"a"`, true},
		{`"b"`, `"a"`, false}, {``, `"a"`, false},
	}
	for _, tt := range tests {
		if got := etagMatches(tt.header, tt.etag); got != tt.want {
			t.Errorf("etagMatches(%q, %q) = %v", tt.header, tt.etag, got)
		}
	}
}

func TestRevSeq(t *testing.T) {
	for rev, want := range map[string]int64{"3-abc": 3, "12-": 12, "x-1": -1, "": -1, "-1-a": -1} {
		if got := revSeq(rev); got != want {
			t.Errorf("revSeq(%q) = %d, want %d", rev, got, want)
		}
	}
}
