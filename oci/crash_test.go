package oci

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/storagetest"
	"github.com/smartregistry/smartregistry/internal/e2etest"
)

// TestCrashStates makes, directly in storage, the state a crash leaves
// between the steps of a push — a blob stored but not linked into the
// repository, a manifest stored but not linked — and checks that nothing
// unlinked is served and that the push then succeeds; and it loses the
// answers to the link and tag writes. On the filesystem and on MinIO.
func TestCrashStates(t *testing.T) {
	for _, be := range e2etest.FilesystemAndS3("smartregistry-oci-test") {
		t.Run(be.Name, func(t *testing.T) {
			ctx := t.Context()
			lose := ""
			backend := &storagetest.LostAnswers{Backend: be.Open(t), Lose: func(key string) bool {
				return lose != "" && strings.Contains(key, lose)
			}}
			ts := newTestServer(t, backend, Config{})
			st := core.NewStorage(backend, core.StorageHooks{})
			place := func(data []byte) string {
				d := sha256Digest(data)
				pd, err := ParseDigest(d)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := st.Put(ctx, blobKey(pd), bytes.NewReader(data), int64(len(data)), core.PutOptions{}); err != nil {
					t.Fatal(err)
				}
				return d
			}

			// A blob in storage but not linked into the repository (a
			// crash between storing and linking) is not served; the push
			// again succeeds.
			layer := []byte("layer stored before a crash")
			ld := place(layer)
			runSteps(t, ts, []step{
				{name: "unlinked blob", method: "GET", url: "/v2/crash/app/blobs/" + ld, header: admin(), status: http.StatusNotFound},
				{name: "push again", method: "POST", url: "/v2/crash/app/blobs/uploads/?digest=" + ld, header: admin(), body: layer, status: http.StatusCreated},
				{name: "linked blob", method: "GET", url: "/v2/crash/app/blobs/" + ld, header: admin(), status: http.StatusOK, wantBody: layer},
			})

			// A manifest stored but not linked: not served; pushed again.
			m := testImage(t, ts, "crash/app", "another layer")
			md := place(m)
			mh := admin("Content-Type", MediaTypeImageManifest)
			runSteps(t, ts, []step{
				{name: "unlinked manifest", method: "GET", url: "/v2/crash/app/manifests/" + md, header: admin("Accept", MediaTypeImageManifest), status: http.StatusNotFound},
				{name: "push the manifest", method: "PUT", url: "/v2/crash/app/manifests/v1", header: mh, body: m, status: http.StatusCreated},
				{name: "linked manifest", method: "GET", url: "/v2/crash/app/manifests/" + md, header: admin("Accept", MediaTypeImageManifest), status: http.StatusOK, wantBody: m},
			})

			// The layer link's write happens, its answer is lost: the
			// client sees an error, the blob is consistent (linked), and
			// the client's retry succeeds.
			lost := []byte("a layer whose link answer is lost")
			lostDigest := sha256Digest(lost)
			lose = "/_layers/"
			runSteps(t, ts, []step{
				{name: "push, answer lost", method: "POST", url: "/v2/crash/lost/blobs/uploads/?digest=" + lostDigest, header: admin(), body: lost, status: http.StatusInternalServerError},
			})
			lose = ""
			runSteps(t, ts, []step{
				{name: "blob after a lost answer", method: "GET", url: "/v2/crash/lost/blobs/" + lostDigest, header: admin(), status: http.StatusOK, wantBody: lost},
				{name: "retry", method: "POST", url: "/v2/crash/lost/blobs/uploads/?digest=" + lostDigest, header: admin(), body: lost, status: http.StatusCreated},
			})
			// The tag's write is lost: the retry of the manifest push
			// succeeds and the tag resolves.
			m2 := testImage(t, ts, "crash/lost", "tagged layer")
			lose = "/_manifests/tags/"
			runSteps(t, ts, []step{
				{name: "manifest, tag answer lost", method: "PUT", url: "/v2/crash/lost/manifests/v2", header: mh, body: m2, status: http.StatusInternalServerError},
			})
			lose = ""
			runSteps(t, ts, []step{
				{name: "manifest retry", method: "PUT", url: "/v2/crash/lost/manifests/v2", header: mh, body: m2, status: http.StatusCreated},
				{name: "tag", method: "GET", url: "/v2/crash/lost/manifests/v2", header: admin("Accept", MediaTypeImageManifest), status: http.StatusOK, wantBody: m2},
			})
		})
	}
}
