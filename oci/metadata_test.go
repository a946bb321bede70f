package oci

import (
	"errors"
	"net/http"
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
	image := `{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + dg + `","size":1},"layers":[]}`
	index := `{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + dg + `","size":1}]}`
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
		{"text/html", image, "text/html", "", ErrManifestInvalid},
		{"text/html in body", `{"schemaVersion":2,"mediaType":"text/html"}`, "", "", ErrManifestInvalid},
		{"unknown manifest type", image, "application/vnd.example.manifest+json", "", ErrManifestInvalid},
		{"control character", image, MediaTypeImageManifest + "\x00", "", ErrManifestInvalid},
		{"control character in parameter", image, MediaTypeImageManifest + "; x=\r\n", "", ErrManifestInvalid},
		{"not RFC 6838", image, "application/vnd oci", "", ErrManifestInvalid},
		{"artifactType not RFC 6838", `{"schemaVersion":2,"artifactType":"<script>","config":{"mediaType":"a/b","digest":"` + dg + `","size":1}}`,
			"", "", ErrManifestInvalid},
		{"layer type not RFC 6838", `{"schemaVersion":2,"layers":[{"mediaType":"x","digest":"` + dg + `","size":1}]}`, "", "", ErrManifestInvalid},
		{"artifact manifest", `{"schemaVersion":2,"artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"` + dg + `","size":2}}`,
			MediaTypeImageManifest, MediaTypeImageManifest, nil},
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

func TestValidMediaType(t *testing.T) {
	for _, tc := range []struct {
		mt   string
		want bool
	}{
		{MediaTypeImageManifest, true},
		{"text/html", true},
		{"a/b", true},
		{"application/vnd.a+b.c!#$&-^_", true},
		{"", false},
		{"text", false},
		{"text/", false},
		{"/html", false},
		{"text/html/x", false},
		{"text/.html", false},
		{"text/ht ml", false},
		{"text/html;charset=utf-8", false},
		{"text/h\x00", false},
		{"tëxt/html", false},
		{"a/" + strings.Repeat("b", 127), true},
		{"a/" + strings.Repeat("b", 128), false},
	} {
		if got := ValidMediaType(tc.mt); got != tc.want {
			t.Errorf("ValidMediaType(%q) = %v, want %v", tc.mt, got, tc.want)
		}
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

func TestChunkLength(t *testing.T) {
	for _, tc := range []struct {
		name          string
		contentRange  string
		contentLength int64
		size          int64
		want          int64
		wantErr       error
	}{
		{"no range", "", 7, 0, 7, nil},
		{"no range, unknown length", "", -1, 0, -1, nil},
		{"first chunk", "0-9", 10, 0, 10, nil},
		{"bytes prefix", "bytes 10-19", -1, 10, 10, nil},
		{"bytes= prefix", "bytes=10-19/*", -1, 10, 10, nil},
		{"overflow from 0", "bytes 0-9223372036854775807", -1, 0, 0, ErrRangeInvalid},
		{"overflow from 0 with length", "0-9223372036854775807", 3, 0, 0, ErrRangeInvalid},
		{"largest", "0-9223372036854775806", -1, 0, 9223372036854775807, nil},
		{"end past int64", "0-9223372036854775808", -1, 0, 0, ErrRangeInvalid},
		{"negative start", "-1-5", -1, 0, 0, ErrRangeInvalid},
		{"end before start", "5-4", -1, 5, 0, ErrRangeInvalid},
		{"not at the end", "3-5", -1, 5, 0, ErrRangeInvalid},
		{"length mismatch", "5-9", 3, 5, 0, ErrSizeInvalid},
		{"garbage", "x", -1, 0, 0, ErrRangeInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := &core.RequestContext{Header: http.Header{}, ContentLength: tc.contentLength}
			if tc.contentRange != "" {
				req.Header.Set("Content-Range", tc.contentRange)
			}
			got, err := chunkLength(req, &uploadSession{Size: tc.size})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got %d, %v; want %v", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}
