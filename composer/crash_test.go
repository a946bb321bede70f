package composer

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/storagetest"
	"github.com/smartregistry/smartregistry/internal/e2etest"
)

// TestCrashStates makes, directly in storage, the state a crash leaves
// between each two steps of an upload (staged; zip placed but not listed),
// loses the answers to the zip's move and to the document's write, and
// drops a package's marker: nothing unlisted is served or listed, and the
// upload (or RebuildIndex) then succeeds. On the filesystem and on MinIO.
func TestCrashStates(t *testing.T) {
	for _, be := range e2etest.FilesystemAndS3("smartregistry-composer-test") {
		t.Run(be.Name, func(t *testing.T) {
			ctx := t.Context()
			var lose func(key string) bool
			backend := &storagetest.LostAnswers{Backend: be.Open(t), Lose: func(key string) bool { return lose != nil && lose(key) }}
			e := newTestEnvOn(t, backend, noHooks, Config{IndexTTL: -1})
			get := func(path string) response { return e.do(ctx, request{method: "GET", path: path, token: adminToken}) }
			put := func(key string, data []byte) {
				if _, err := e.storage.Put(ctx, key, bytes.NewReader(data), int64(len(data)), core.PutOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			listed := func(name string) bool { return strings.Contains(get("/packages.json").body, `"`+name+`"`) }

			// 1. Crash after the zip was staged.
			staged := pkg{name: "acme/staged", version: "1.0.0"}
			put(uploadKey(time.Now().Add(-2*time.Hour), "crashed"), staged.zip(t))
			if r := get("/p2/acme/staged.json"); r.status != 404 || listed("acme/staged") {
				t.Errorf("staged upload visible: %d", r.status)
			}
			e.mustUpload(ctx, staged, "")
			if n, err := e.h.CleanUploads(ctx, time.Now().Add(time.Minute)); err != nil || n != 1 {
				t.Errorf("sweep of the staged leftover: %d, %v", n, err)
			}

			// 2. Crash after the zip was placed, before the document listed it.
			placed := pkg{name: "acme/placed", version: "1.0.0"}
			zip := placed.zip(t)
			sum := sha1.Sum(zip)
			put(distKey("acme/placed", core.StageID(uploadKey(time.Now(), "crashed"))), zip)
			for _, path := range []string{"/p2/acme/placed.json", "/dists/acme/placed/" + hex.EncodeToString(sum[:]) + ".zip"} {
				if r := get(path); r.status != 404 {
					t.Errorf("unlisted %s served: %d", path, r.status)
				}
			}
			if listed("acme/placed") {
				t.Error("a package with only an unlisted zip is listed")
			}
			e.mustUpload(ctx, placed, "")
			if r := get("/dists/acme/placed/" + hex.EncodeToString(sum[:]) + ".zip"); r.status != 200 || r.body != string(zip) {
				t.Errorf("after the retry: %d", r.status)
			}

			// 3. The move of the zip happens, its answer is lost: the upload
			// fails, nothing is listed, the retry succeeds.
			moved := pkg{name: "acme/moved", version: "1.0.0"}
			lose = func(key string) bool { return strings.HasPrefix(key, distsPrefix+"acme/moved/") }
			if r := e.upload(ctx, moved.name, "", moved.zip(t)); r.status != http.StatusInternalServerError {
				t.Errorf("upload with a lost move: %d %s", r.status, r.body)
			}
			lose = nil
			if r := get("/p2/acme/moved.json"); r.status != 404 || listed("acme/moved") {
				t.Errorf("after a lost move: %d", r.status)
			}
			e.mustUpload(ctx, moved, "")

			// 4. The document's write happens, its answer is lost: the
			// upload succeeds (Publish reads the document again), and the
			// client's retry too.
			lost := pkg{name: "acme/lost", version: "1.0.0"}
			lose = func(key string) bool { return key == packageKey("acme/lost") }
			if r := e.upload(ctx, lost.name, "", lost.zip(t)); r.status != http.StatusCreated {
				t.Errorf("upload with a lost answer: %d %s", r.status, r.body)
			}
			lose = nil
			if vs := e.versions(ctx, "acme/lost.json"); len(vs) != 1 {
				t.Errorf("after a lost answer: %d versions", len(vs))
			}
			e.mustUpload(ctx, lost, "")

			// 5. A crash between a first publish and its marker: the
			// package has its files, and RebuildIndex lists it again.
			if err := e.storage.Delete(ctx, indexKey("acme/lost")); err != nil {
				t.Fatal(err)
			}
			if listed("acme/lost") {
				t.Fatal("still listed without its marker")
			}
			if err := e.h.RebuildIndex(ctx); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"acme/lost", "acme/placed", "acme/staged", "acme/moved"} {
				if !listed(name) {
					t.Errorf("%s not listed after RebuildIndex", name)
				}
			}
			for _, k := range e.keys(ctx) {
				if strings.HasPrefix(k, uploadsPrefix) {
					t.Errorf("upload left behind: %s", k)
				}
			}
			if got := e.versions(ctx, "acme/placed.json"); !slices.ContainsFunc(got, func(v map[string]json.RawMessage) bool { return string(v["version"]) == `"1.0.0"` }) {
				t.Errorf("placed versions: %v", got)
			}
		})
	}
}
