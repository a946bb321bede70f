package pypi

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/storagetest"
	"github.com/smartregistry/smartregistry/internal/e2etest"
)

// TestCrashStates makes, directly in storage, the state a crash leaves
// between each two steps of an upload (staged; file and metadata placed
// but not listed) and checks that nothing unlisted is served or indexed
// and that the upload then succeeds; and it loses the answer to the
// project document's write. On the filesystem and on MinIO.
func TestCrashStates(t *testing.T) {
	for _, be := range e2etest.FilesystemAndS3("smartregistry-pypi-test") {
		t.Run(be.Name, func(t *testing.T) {
			ctx := t.Context()
			lose := false
			backend := &storagetest.LostAnswers{Backend: be.Open(t), Lose: func(key string) bool {
				return lose && strings.HasSuffix(key, "/project.json")
			}}
			e := newTestEnvOn(t, backend, true)
			get := func(path string) response { return e.do(ctx, request{method: "GET", path: path}) }
			put := func(key string, data []byte) {
				if _, err := e.storage.Put(ctx, key, bytes.NewReader(data), int64(len(data)), core.PutOptions{}); err != nil {
					t.Fatal(err)
				}
			}

			// 1. Crash after the file was staged.
			d := dist{name: "staged", version: "1.0"}
			put(uploadKey(time.Now().Add(-2*time.Hour), "crashed"), d.wheel(t))
			if r := get("/packages/staged/" + d.wheelName()); r.status != 404 {
				t.Errorf("staged file served: %d", r.status)
			}
			e.mustUpload(ctx, d)
			if n, err := e.h.CleanUploads(ctx, time.Now().Add(time.Minute)); err != nil || n != 1 {
				t.Errorf("sweep of the staged leftover: %d, %v", n, err)
			}

			// 2. Crash after file and metadata were placed, before the
			// project document listed them: the first file of a project.
			d = dist{name: "placed", version: "1.0"}
			id := core.StageID(uploadKey(time.Now(), "crashed"))
			put(metadataKey("placed", id), []byte(d.metadata()))
			put(fileKey("placed", id), d.wheel(t))
			for _, path := range []string{"/packages/placed/" + d.wheelName(), "/packages/placed/" + d.wheelName() + ".metadata", "/simple/placed/"} {
				if r := get(path); r.status != 404 {
					t.Errorf("unlisted %s served: %d", path, r.status)
				}
			}
			if r := get("/simple/"); strings.Contains(r.body, "placed") {
				t.Errorf("a project with only an unlisted file is indexed:\n%s", r.body)
			}
			// The retry, with other bytes (rebuilt) or the same, succeeds.
			rebuilt := dist{name: "placed", version: "1.0", payload: 3}
			e.mustUpload(ctx, rebuilt)
			if r := get("/packages/placed/" + d.wheelName()); r.status != 200 || r.body != string(rebuilt.wheel(t)) {
				t.Errorf("after the retry: %d, %d bytes", r.status, len(r.body))
			}
			if r := get("/simple/"); !strings.Contains(r.body, "placed") {
				t.Errorf("the project is not indexed after its upload:\n%s", r.body)
			}

			// 3. The project document's write happens, its answer is lost.
			lose = true
			d = dist{name: "lost", version: "1.0"}
			r := e.upload(ctx, d, d.wheelName(), d.wheel(t), nil)
			lose = false
			if r.status != 200 {
				t.Fatalf("upload with a lost answer: %d %s", r.status, r.body)
			}
			if r := get("/packages/lost/" + d.wheelName()); r.status != 200 || r.body != string(d.wheel(t)) {
				t.Errorf("after a lost answer the file is %d, %d bytes", r.status, len(r.body))
			}
			e.mustUpload(ctx, d) // the client saw an error and retries

			// 4. A crash between a first upload and its index marker: the
			// project has its page, and RebuildIndex brings it into /simple/.
			if err := e.storage.Delete(ctx, indexKey("lost")); err != nil {
				t.Fatal(err)
			}
			if err := e.h.RebuildIndex(ctx); err != nil {
				t.Fatal(err)
			}
			if r := get("/simple/"); !strings.Contains(r.body, "lost") || !strings.Contains(r.body, "placed") {
				t.Errorf("after RebuildIndex:\n%s", r.body)
			}
			for _, k := range e.keys(ctx) {
				if strings.HasPrefix(k, uploadsPrefix) {
					t.Errorf("upload left behind: %s", k)
				}
			}
		})
	}
}
