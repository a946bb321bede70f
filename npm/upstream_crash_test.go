package npm

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/handlertest"
)

// TestProxyCrashStates: lost answers to the cache writes (the stored
// packument, the tarball's move into place) never fail a download nor
// leave a half-written cache entry; and what a crash leaves in the middle
// of a fill (a staged tarball) is swept like an abandoned upload.
func TestProxyCrashStates(t *testing.T) {
	ctx := t.Context()
	origin := newTestEnv(t, nil)
	pub := newPublish(t, "crashy", "1.0.0")
	origin.publish(ctx, adminToken, pub)
	backend, lose := handlertest.LosingBackend(rootPrefix + "upstream/")
	e := newProxyEnvOn(t, backend, core.StorageHooks{}, Config{}, core.Upstream{Name: "o", URL: serveEnv(t, origin).URL, Token: adminToken})

	for range 2 { // answers lost, then not
		if r := e.do(ctx, http.MethodGet, "/crashy", adminToken, nil); r.status != 200 {
			t.Fatalf("packument: %d %s", r.status, r.body)
		}
		for range 2 {
			if r := e.do(ctx, http.MethodGet, "/crashy/-/crashy-1.0.0.tgz", adminToken, nil); r.status != 200 || !bytes.Equal(r.body, pub.tarball) {
				t.Fatalf("tarball: %d, %d bytes", r.status, len(r.body))
			}
		}
		lose.Store(false)
	}
	got := handlertest.ReadAll(t, e.storage, upstreamTarballKey("crashy", "crashy-1.0.0.tgz"))
	if !bytes.Equal(got, pub.tarball) {
		t.Fatal("the cached tarball differs")
	}

	handlertest.SweepsStaged(t, e.storage, uploadKey(time.Now().Add(-2*time.Hour)), uploadsPrefix, e.h.CleanUploads)
}
