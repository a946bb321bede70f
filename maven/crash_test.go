package maven

import (
	"strings"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/storagetest"
	"github.com/smartregistry/smartregistry/internal/e2etest"
)

// TestCrashStates makes, directly in storage, the state a crash leaves
// between each two steps of a deploy (staged; placed but not listed;
// listed in the version document but not in the artifact document) and
// checks that nothing unlisted is served and that the deploy then
// succeeds; and it loses the answers to the documents' writes. On the
// filesystem and on MinIO.
func TestCrashStates(t *testing.T) {
	for _, be := range e2etest.FilesystemAndS3("smartregistry-maven-test") {
		t.Run(be.Name, func(t *testing.T) {
			ctx := t.Context()
			lose := ""
			backend := &storagetest.LostAnswers{Backend: be.Open(t), Lose: func(key string) bool {
				return lose != "" && strings.HasSuffix(key, lose)
			}}
			e := newTestEnvOn(t, backend, Config{}, core.StorageHooks{})
			put := func(key, data string) {
				if _, err := e.storage.Put(ctx, key, strings.NewReader(data), int64(len(data)), core.PutOptions{}); err != nil {
					t.Fatal(err)
				}
			}

			// 1. Crash after the file was staged: invisible, swept by age.
			put(core.StageKeyAt(uploadsPrefix, time.Now().Add(-2*time.Hour), "crashed"), "staged")
			p := "/com/example/staged/1.0/staged-1.0.jar"
			if r := e.get(ctx, p); r.status != 404 {
				t.Errorf("nothing deployed, yet %d", r.status)
			}
			e.deploy(ctx, p, "staged")
			if n, err := e.h.CleanUploads(ctx, time.Now().Add(time.Minute)); err != nil || n != 1 {
				t.Errorf("sweep of the staged leftover: %d, %v", n, err)
			}

			// 2. Crash after the file was placed, before any document
			// listed it: not served; the retry, with other bytes, works.
			id := core.StageID(uploadKey(time.Now()))
			put(fileKey("com.example", "placed", "1.0", id), "placed")
			p = "/com/example/placed/1.0/placed-1.0.jar"
			for _, path := range []string{p, "/com/example/placed/maven-metadata.xml", "/com/example/placed/1.0/"} {
				if r := e.get(ctx, path); r.status != 404 {
					t.Errorf("unlisted %s served: %d", path, r.status)
				}
			}
			e.deploy(ctx, p, "rebuilt")
			if r := e.get(ctx, p); r.body != "rebuilt" {
				t.Errorf("after the retry: %d %q", r.status, r.body)
			}

			// 3. Crash between the version document and the artifact
			// document: the retry of the same file heals the metadata.
			p = "/com/example/half/1.0/half-1.0.jar"
			e.deploy(ctx, p, "half")
			if _, _, err := updateArtifactDocForTest(e, "com.example", "half", "1.0"); err != nil {
				t.Fatal(err)
			}
			e.deploy(ctx, p, "half")
			if r := e.get(ctx, "/com/example/half/maven-metadata.xml"); !strings.Contains(r.body, "<version>1.0</version>") {
				t.Errorf("the retry did not list the version:\n%s", r.body)
			}

			// 4. The documents' writes happen, their answers are lost.
			for i, doc := range []string{versionDocName, artifactDocName} {
				lose = doc
				p := "/com/example/lost/" + string(rune('1'+i)) + ".0/lost-" + string(rune('1'+i)) + ".0.jar"
				r := e.do(ctx, request{method: "PUT", path: p, body: "lost", token: adminToken})
				lose = ""
				if r.status != 201 && r.status != 500 {
					t.Fatalf("deploy with a lost answer of %s: %d %s", doc, r.status, r.body)
				}
				e.deploy(ctx, p, "lost") // the client retries
				if r := e.get(ctx, p); r.body != "lost" {
					t.Errorf("after a lost answer of %s: %d %q", doc, r.status, r.body)
				}
			}
			if r := e.get(ctx, "/com/example/lost/maven-metadata.xml"); !strings.Contains(r.body, "<version>1.0</version>") ||
				!strings.Contains(r.body, "<version>2.0</version>") {
				t.Errorf("after lost answers:\n%s", r.body)
			}
			for _, k := range e.keys(ctx) {
				if strings.HasPrefix(k, uploadsPrefix) {
					t.Errorf("upload left behind: %s", k)
				}
			}
			// Every stored file is listed once: nothing placed stays
			// unlisted, except the crash of step 2.
			files := 0
			for _, k := range e.keys(ctx) {
				if strings.HasPrefix(k, filesPrefix) {
					files++
				}
			}
			if want := 1 + 2 + 1 + 2; files != want {
				t.Errorf("%d stored files, want %d", files, want)
			}
		})
	}
}
