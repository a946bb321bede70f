package cargo

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/storagetest"
	"github.com/smartregistry/smartregistry/internal/e2etest"
)

// TestCrashStates makes, directly in storage, the states a crash leaves
// between the steps of a publish (staged; placed but not listed), loses
// the answers to the move and to the crate document's write, and checks
// that nothing unlisted is served and that publishing then succeeds. On
// the filesystem and on MinIO.
func TestCrashStates(t *testing.T) {
	for _, be := range e2etest.FilesystemAndS3("smartregistry-cargo-test") {
		t.Run(be.Name, func(t *testing.T) {
			ctx := t.Context()
			var lose func(key string) bool
			backend := &storagetest.LostAnswers{Backend: be.Open(t), Lose: func(key string) bool { return lose != nil && lose(key) }}
			e := newTestEnvOn(t, backend, false, core.StorageHooks{})
			put := func(key string, data []byte) {
				if _, err := e.storage.Put(ctx, key, bytes.NewReader(data), int64(len(data)), core.PutOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			unserved := func(name, vers string) {
				t.Helper()
				for _, p := range []string{"/" + IndexPath(name), "/api/v1/crates/" + name + "/" + vers + "/download"} {
					if r := e.get(ctx, p); r.status != 404 {
						t.Errorf("%s served before it was listed: %d", p, r.status)
					}
				}
			}

			// 1. Crash after the crate was staged.
			c := testCrate{name: "staged", vers: "1.0.0"}
			put(core.StageKey(uploadsPrefix, time.Now().Add(-2*time.Hour)), c.crateFile(t))
			unserved(c.name, c.vers)
			e.mustPublish(ctx, c)
			if n, err := e.h.CleanUploads(ctx, time.Now().Add(time.Minute)); err != nil || n != 1 {
				t.Errorf("sweep of the staged leftover: %d, %v", n, err)
			}

			// 2. Crash after the crate was placed, before the document
			// listed it; the retry has other bytes (rebuilt).
			c = testCrate{name: "placed", vers: "1.0.0"}
			put(fileKey("placed", core.StageID(core.StageKey(uploadsPrefix, time.Now()))), c.crateFile(t))
			unserved(c.name, c.vers)
			rebuilt := testCrate{name: "placed", vers: "1.0.0", payload: 5}
			e.mustPublish(ctx, rebuilt)
			if r := e.get(ctx, "/api/v1/crates/placed/1.0.0/download"); r.status != 200 || r.body != string(rebuilt.crateFile(t)) {
				t.Errorf("after the retry: %d, %d bytes", r.status, len(r.body))
			}

			// 3. The move into place happens, its answer is lost: the
			// publish fails, nothing is listed, the retry succeeds.
			c = testCrate{name: "moved", vers: "1.0.0"}
			lose = func(key string) bool { return strings.HasPrefix(key, filesPrefix) }
			r := e.publish(ctx, adminToken, c.body(t))
			lose = nil
			if r.status != 500 || !strings.Contains(r.body, "internal error") {
				t.Errorf("publish with a lost move: %d %s", r.status, r.body)
			}
			unserved(c.name, c.vers)
			e.mustPublish(ctx, c)

			// 4. The document's write happens, its answer is lost: the
			// publish succeeds (the document lists it), and so does the
			// client's retry.
			c = testCrate{name: "lost", vers: "1.0.0"}
			lose = func(key string) bool { return strings.HasPrefix(key, cratesPrefix) }
			if r := e.publish(ctx, adminToken, c.body(t)); r.status != 200 {
				t.Errorf("publish with a lost answer: %d %s", r.status, r.body)
			}
			lose = nil
			if r := e.get(ctx, "/api/v1/crates/lost/1.0.0/download"); r.status != 200 || r.body != string(c.crateFile(t)) {
				t.Errorf("after a lost answer: %d, %d bytes", r.status, len(r.body))
			}
			e.mustPublish(ctx, c)
			if lines := e.indexLines(ctx, "lost"); len(lines) != 1 {
				t.Errorf("index after the retry: %+v", lines)
			}
			for _, k := range e.keys(ctx) {
				if strings.HasPrefix(k, uploadsPrefix) {
					t.Errorf("upload left behind: %s", k)
				}
			}
		})
	}
}
