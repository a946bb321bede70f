package oci

import (
	"errors"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
)

func TestValidName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"app", true}, {"team/sub/app", true}, {"a.b_c__d--e", true}, {"a0/1b", true},
		{"", false}, {"App", false}, {"-a", false}, {"a-", false}, {"a//b", false}, {"a/", false},
		{"a/_layers", false}, {"a___b", false}, {"a..b", false}, {strings.Repeat("a", 256), false},
	} {
		if got := ValidName(tc.name); got != tc.ok {
			t.Errorf("ValidName(%q) = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

func TestValidTag(t *testing.T) {
	for _, tc := range []struct {
		tag string
		ok  bool
	}{
		{"latest", true}, {"v1.0.0-rc_1", true}, {"_x", true}, {strings.Repeat("a", 128), true},
		{"", false}, {".x", false}, {"-x", false}, {"a/b", false}, {strings.Repeat("a", 129), false}, {"sha256:ab", false},
	} {
		if got := ValidTag(tc.tag); got != tc.ok {
			t.Errorf("ValidTag(%q) = %v, want %v", tc.tag, got, tc.ok)
		}
	}
}

func TestParseDigest(t *testing.T) {
	hex64, hex128 := strings.Repeat("ab", 32), strings.Repeat("cd", 64)
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"sha256:" + hex64, true}, {"sha512:" + hex128, true},
		{"sha256:" + hex128, false}, {"sha512:" + hex64, false}, {"sha256:" + strings.ToUpper(hex64), false},
		{"md5:" + hex64[:32], false}, {hex64, false}, {"sha256:", false},
	} {
		d, err := ParseDigest(tc.in)
		if tc.ok != (err == nil) {
			t.Errorf("ParseDigest(%q) = %v, %v", tc.in, d, err)
			continue
		}
		if err != nil && !errors.Is(err, ErrDigestInvalid) {
			t.Errorf("ParseDigest(%q) error %v is not DIGEST_INVALID", tc.in, err)
		}
		if err == nil && d.String() != tc.in {
			t.Errorf("ParseDigest(%q).String() = %q", tc.in, d)
		}
	}
}

func TestParseManifest(t *testing.T) {
	dg := "sha256:" + strings.Repeat("ab", 32)
	image := `{"schemaVersion":2,"config":{"mediaType":"c","digest":"` + dg + `","size":1},"layers":[]}`
	index := `{"schemaVersion":2,"manifests":[{"mediaType":"m","digest":"` + dg + `","size":1}]}`
	for _, tc := range []struct {
		name, body, contentType string
		wantType                string
		wantErr                 error
	}{
		{"image by content type", image, MediaTypeImageManifest, MediaTypeImageManifest, nil},
		{"docker by content type", image, MediaTypeDockerManifest, MediaTypeDockerManifest, nil},
		{"image guessed", image, "", MediaTypeImageManifest, nil},
		{"index guessed", index, "", MediaTypeImageIndex, nil},
		{"docker list", index, MediaTypeDockerList + "; charset=utf-8", MediaTypeDockerList, nil},
		{"body names type", `{"schemaVersion":2,"mediaType":"` + MediaTypeImageIndex + `","manifests":[]}`, "", MediaTypeImageIndex, nil},
		{"type mismatch", `{"schemaVersion":2,"mediaType":"` + MediaTypeImageIndex + `"}`, MediaTypeImageManifest, "", ErrManifestInvalid},
		{"schema 1", `{"schemaVersion":1}`, "", "", ErrManifestInvalid},
		{"bad JSON", `{`, "", "", ErrManifestInvalid},
		{"bad digest", `{"schemaVersion":2,"layers":[{"digest":"sha256:x","size":1}]}`, "", "", ErrManifestInvalid},
		{"negative size", `{"schemaVersion":2,"layers":[{"digest":"` + dg + `","size":-1}]}`, "", "", ErrManifestInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, mt, err := ParseManifest([]byte(tc.body), tc.contentType)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || mt != tc.wantType {
				t.Fatalf("got %q, %v; want %q", mt, err, tc.wantType)
			}
		})
	}
}

func TestParseRange(t *testing.T) {
	for _, tc := range []struct {
		header       string
		size         int64
		offset, leng int64
		whole        bool
		bad          bool
	}{
		{header: "", size: 10, whole: true},
		{header: "bytes=0-3", size: 10, offset: 0, leng: 4},
		{header: "bytes=5-", size: 10, offset: 5, leng: 5},
		{header: "bytes=8-100", size: 10, offset: 8, leng: 2},
		{header: "bytes=-4", size: 10, offset: 6, leng: 4},
		{header: "bytes=-40", size: 10, offset: 0, leng: 10},
		{header: "bytes=10-", size: 10, bad: true},
		{header: "bytes=4-2", size: 10, bad: true},
		{header: "bytes=0-1,3-4", size: 10, bad: true},
		{header: "items=0-1", size: 10, bad: true},
		{header: "bytes=0-0", size: 0, bad: true},
	} {
		r, err := parseRange(tc.header, tc.size)
		switch {
		case tc.bad:
			if !errors.Is(err, core.ErrRangeNotSatisfiable) {
				t.Errorf("parseRange(%q) = %v, %v; want 416", tc.header, r, err)
			}
		case tc.whole:
			if r != nil || err != nil {
				t.Errorf("parseRange(%q) = %v, %v; want whole", tc.header, r, err)
			}
		case err != nil || r.Offset != tc.offset || r.Length != tc.leng:
			t.Errorf("parseRange(%q) = %v, %v; want %d+%d", tc.header, r, err, tc.offset, tc.leng)
		}
	}
}

func TestParseRepoScope(t *testing.T) {
	for _, tc := range []struct {
		in      string
		ok      bool
		name    string
		actions string
	}{
		{"repository:team/app:pull,push", true, "team/app", "pull,push"},
		{"repository:app:*", true, "app", "*"},
		{"registry:catalog:*", false, "", ""},
		{"repository:Bad:pull", false, "", ""},
		{"repository:app", false, "", ""},
	} {
		rs, ok := parseRepoScope(tc.in)
		if ok != tc.ok || (ok && (rs.Name != tc.name || strings.Join(rs.Actions, ",") != tc.actions)) {
			t.Errorf("parseRepoScope(%q) = %+v, %v", tc.in, rs, ok)
		}
	}
}
