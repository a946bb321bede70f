package npm

import (
	"bytes"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/core/storage/storagetest"
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
	var lose atomic.Bool
	lose.Store(true)
	backend := &storagetest.LostAnswers{Backend: memory.New(), Lose: func(key string) bool {
		return lose.Load() && strings.HasPrefix(key, rootPrefix+"upstream/")
	}}
	e := newProxyEnvOn(t, backend, Config{}, core.Upstream{Name: "o", URL: serveEnv(t, origin).URL, Token: adminToken})

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
	rc, _, err := e.storage.Get(ctx, upstreamTarballKey("crashy", "crashy-1.0.0.tgz"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	buf.ReadFrom(rc)
	rc.Close()
	if !bytes.Equal(buf.Bytes(), pub.tarball) {
		t.Fatal("the cached tarball differs")
	}

	// A fill interrupted by a crash leaves a staged object only.
	staged := uploadKey(time.Now().Add(-2 * time.Hour))
	if _, err := e.storage.Put(ctx, staged, bytes.NewReader(pub.tarball[:10]), 10, core.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if n, err := e.h.CleanUploads(ctx, time.Now().Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	_ = e.storage.Walk(ctx, uploadsPrefix, func(o core.ObjectInfo) error {
		t.Errorf("left in the uploads area: %s", o.Key)
		return nil
	})
}
