package oci

import (
	"errors"
	"math"
	"net/http"
	"testing"

	"github.com/smartregistry/smartregistry/core"
)

// FuzzParseManifest: a manifest that parses is served with a known
// manifest media type, all its descriptors have valid digests, sizes and
// media types, and it parses again with the type returned; a refusal is
// ErrManifestInvalid.
func FuzzParseManifest(f *testing.F) {
	dg := "sha256:" + "ab" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
	f.Add(`{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"`+dg+`","size":1},"layers":[]}`, MediaTypeImageManifest)
	f.Add(`{"schemaVersion":2,"manifests":[{"mediaType":"`+MediaTypeImageManifest+`","digest":"`+dg+`","size":1}]}`, "")
	f.Add(`{"schemaVersion":2,"mediaType":"text/html"}`, "text/html")
	f.Add(`{"schemaVersion":2,"subject":{"digest":"`+dg+`","size":-1}}`, MediaTypeDockerManifest+"; charset=utf-8")
	f.Add(`{"schemaVersion":1}`, "\x00")
	f.Fuzz(func(t *testing.T, body, contentType string) {
		m, mt, err := ParseManifest([]byte(body), contentType)
		if err != nil {
			if !errors.Is(err, ErrManifestInvalid) {
				t.Fatalf("error %v is not ErrManifestInvalid", err)
			}
			return
		}
		if !knownManifestType(mt) || !ValidMediaType(mt) {
			t.Fatalf("served as %q", mt)
		}
		for _, d := range m.descriptors() {
			if _, err := ParseDigest(d.Digest); err != nil || d.Size < 0 || d.MediaType != "" && !ValidMediaType(d.MediaType) {
				t.Fatalf("accepted descriptor %+v", d)
			}
		}
		if _, mt2, err := ParseManifest([]byte(body), mt); err != nil || mt2 != mt {
			t.Fatalf("does not parse again as %q: %q, %v", mt, mt2, err)
		}
	})
}

// FuzzParseDigest: a digest that parses prints back as its input, with
// the hex length of its algorithm.
func FuzzParseDigest(f *testing.F) {
	for _, s := range []string{"sha256:abc", "sha512:00", "md5:00", ":", "",
		"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDigest(s)
		if err != nil {
			if !errors.Is(err, ErrDigestInvalid) {
				t.Fatalf("error %v is not ErrDigestInvalid", err)
			}
			return
		}
		if d.String() != s || len(d.Hex) != hexLength[d.Algorithm] {
			t.Fatalf("ParseDigest(%q) = %+v", s, d)
		}
	})
}

// FuzzParseRange: a Range that parses lies within the object: offset in
// [0, size), length positive and not past the end.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-9", "bytes=5-", "bytes=-3", "bytes=0-9223372036854775807", "bytes=-9223372036854775807",
		"bytes=9-0", "bytes=1-2,3-4", "items=0-1", ""} {
		f.Add(s, int64(10))
	}
	f.Fuzz(func(t *testing.T, header string, size int64) {
		if size < 0 {
			return
		}
		r, err := parseRange(header, size)
		if err != nil {
			if !errors.Is(err, core.ErrRangeNotSatisfiable) {
				t.Fatalf("error %v is not ErrRangeNotSatisfiable", err)
			}
			return
		}
		if r == nil {
			if header != "" {
				t.Fatalf("%q: no range and no error", header)
			}
			return
		}
		if r.Offset < 0 || r.Offset >= size || r.Length <= 0 || r.Length > size-r.Offset {
			t.Fatalf("parseRange(%q, %d) = %+v", header, size, r)
		}
	})
}

// FuzzChunkLength: a Content-Range that is accepted starts where the
// upload is and gives a length that is positive (or -1, unknown, when
// there is no Content-Range and no Content-Length) and agrees with the
// Content-Length when one was sent.
func FuzzChunkLength(f *testing.F) {
	for _, s := range []string{"0-9", "bytes 0-9223372036854775807", "bytes=10-19/*", "5-4", "-1-5", "x", ""} {
		f.Add(s, int64(10), int64(0))
	}
	f.Add("0-9223372036854775806", int64(-1), int64(0))
	f.Fuzz(func(t *testing.T, contentRange string, contentLength, size int64) {
		if size < 0 || contentLength < -1 {
			return
		}
		req := &core.RequestContext{Header: http.Header{}, ContentLength: contentLength}
		if contentRange != "" {
			req.Header.Set("Content-Range", contentRange)
		}
		n, err := chunkLength(req, &uploadSession{Size: size})
		if err != nil {
			if !errors.Is(err, ErrRangeInvalid) && !errors.Is(err, ErrSizeInvalid) {
				t.Fatalf("error %v", err)
			}
			return
		}
		if req.Header.Get("Content-Range") == "" {
			if n != contentLength {
				t.Fatalf("no Content-Range: length %d, want %d", n, contentLength)
			}
			return
		}
		if n <= 0 || contentLength >= 0 && n != contentLength || n > math.MaxInt64-size {
			t.Fatalf("Content-Range %q at %d with Content-Length %d: length %d", contentRange, size, contentLength, n)
		}
	})
}
