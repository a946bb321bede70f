package oci

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/s3"
	"github.com/smartregistry/smartregistry/internal/e2etest"
)

// s3TestBucket holds the S3 tests' registries, each under its own prefix.
const s3TestBucket = "smartregistry-oci-test"

// s3Options returns the options of a registry on the test MinIO under a
// fresh prefix of s3TestBucket (see e2etest.S3Options).
func s3Options(t *testing.T) s3.Options { return e2etest.S3Options(t, s3TestBucket, "oci") }

// s3Backend opens a new client on opts: one per registry instance.
func s3Backend(t *testing.T, opts s3.Options) *s3.Backend { return e2etest.S3Backend(t, opts) }

// TestS3UploadAcrossInstances runs two registry instances, each with its
// own S3 client and auth manager (sharing the JWT secret), on one bucket:
// a chunked upload started on one is continued, raced and finished across
// both, with one bearer token.
func TestS3UploadAcrossInstances(t *testing.T) {
	opts := s3Options(t)
	a := newTestServer(t, s3Backend(t, opts), Config{})
	b := newTestServer(t, s3Backend(t, opts), Config{})

	tok := fetchToken(t, a, "scope=repository:team/app:pull,push", admin())
	// path keeps the upload's Location without the host, so that either
	// instance can be asked.
	path := ""
	keepPath := func(t *testing.T, r *http.Response, _ []byte) {
		path = strings.TrimPrefix(r.Header.Get("Location"), a.URL)
	}
	data := make([]byte, 3<<20+123)
	rand.Read(data)
	d := sha256Digest(data)
	chunk := func(from, to int) (http.Header, []byte) {
		return bearer(tok, "Content-Range", fmt.Sprintf("%d-%d", from, to-1)), data[from:to]
	}
	h1, c1 := chunk(0, 1<<20)
	h2, c2 := chunk(1<<20, 2<<20)
	h3, c3 := chunk(2<<20, 3<<20)
	runSteps(t, a, []step{
		{name: "start on a", method: "POST", url: "/v2/team/app/blobs/uploads/", header: bearer(tok), status: 202, check: keepPath},
	})
	runSteps(t, a, []step{{name: "chunk 1 on a", method: "PATCH", url: path, header: h1, body: c1, status: 202,
		wantHeader: map[string]string{"Range": fmt.Sprintf("0-%d", 1<<20-1)}}})
	runSteps(t, b, []step{
		{name: "status on b", method: "GET", url: path, header: bearer(tok), status: 204,
			wantHeader: map[string]string{"Range": fmt.Sprintf("0-%d", 1<<20-1)}},
		{name: "chunk 2 on b", method: "PATCH", url: path, header: h2, body: c2, status: 202},
	})
	runSteps(t, a, []step{{name: "stale chunk 2 again on a", method: "PATCH", url: path, header: h2, body: c2, status: 416}})

	// Both instances race for the third chunk's offset: exactly one wins.
	statuses := patchConcurrently(t, []patch{
		{ts: a, url: a.URL + path, header: h3, body: c3},
		{ts: b, url: b.URL + path, header: h3, body: c3},
	})
	if slices.Sort(statuses); !slices.Equal(statuses, []int{http.StatusAccepted, http.StatusRequestedRangeNotSatisfiable}) {
		t.Fatalf("racing chunk 3 on both: statuses %v, want one 202 and one 416", statuses)
	}
	h4, c4 := chunk(3<<20, len(data))
	runSteps(t, b, []step{{name: "last chunk and finish on b", method: "PUT", url: path + "?digest=" + d, header: h4, body: c4,
		status: 201, wantHeader: map[string]string{"Docker-Content-Digest": d}}})
	runSteps(t, a, []step{
		{name: "read on a", method: "GET", url: "/v2/team/app/blobs/" + d, header: bearer(tok), status: 200, wantBody: data},
		{name: "upload gone on a", method: "GET", url: path, header: bearer(tok), status: 404, code: "BLOB_UPLOAD_UNKNOWN"},
		{name: "catalog on a", method: "GET", url: "/v2/_catalog", header: admin(), status: 200,
			wantBody: []byte(`{"repositories":["team/app"]}`)},
	})
	st := a.h.Load().deps.Storage
	page, err := st.List(t.Context(), uploadsPrefix, core.ListOptions{})
	if err != nil || len(page.Objects)+len(page.CommonPrefixes) != 0 {
		t.Errorf("upload left behind: %+v, %v", page, err)
	}
}
