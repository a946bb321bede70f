package maven

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/internal/handlertest"
)

// Storage hooks see the cache fills with their kinds, group:artifact and
// version; a hook that refuses the fill (a quota) leaves the download
// working, uncached.
func TestProxyCacheFillsGoThroughHooks(t *testing.T) {
	ctx := t.Context()
	_, _, up := originWith(t, libFiles())
	fills := handlertest.NewFillHooks()
	e := newProxyEnvOn(t, memory.New(), fills.Hooks(), Config{}, up)
	c := Coordinates{Group: "com.example", Artifact: "lib", Version: "1.0", File: "lib-1.0.jar"}
	fills.RefusedThenAllowed(t, e.storage, upstreamFileKey(c), func() {
		for _, p := range []string{upJar, upJar, upJar + ".sha1", "/com/example/lib/maven-metadata.xml"} {
			if r := e.get(ctx, p); r.status != http.StatusOK {
				t.Fatalf("%s: %d %s", p, r.status, r.body)
			}
		}
	})
	fills.MustHaveSeen(t, "metadata com.example:lib \n", "artifact com.example:lib 1.0", "metadata com.example:lib 1.0")
}

// Lost answers to the cache writes (metadata, the file's move into
// place, its checksums) never fail a download nor leave a half-written
// cache entry; what a crash leaves in the middle of a fill (a staged
// file) is swept like an abandoned deploy.
func TestProxyCrashStates(t *testing.T) {
	ctx := t.Context()
	_, _, up := originWith(t, libFiles())
	backend, lose := handlertest.LosingBackend(upstreamPrefix)
	e := newProxyEnvOn(t, backend, core.StorageHooks{}, Config{}, up)
	for range 2 { // answers lost, then not
		for _, p := range []string{"/com/example/lib/maven-metadata.xml", upJar, upJar, upJar + ".sha1", upJar + ".sha1"} {
			if r := e.get(ctx, p); r.status != http.StatusOK {
				t.Fatalf("%s: %d %s", p, r.status, r.body)
			}
		}
		lose.Store(false)
	}
	c := Coordinates{Group: "com.example", Artifact: "lib", Version: "1.0", File: "lib-1.0.jar"}
	got := handlertest.ReadAll(t, e.storage, upstreamFileKey(c))
	if string(got) != "lib jar 1.0" {
		t.Fatalf("the cached jar differs: %q", got)
	}
	handlertest.SweepsStaged(t, e.storage, uploadKey(time.Now().Add(-2*time.Hour)), uploadsPrefix, e.h.CleanUploads)
}

// Two replicas on one storage, 20 concurrent downloads of one proxied jar
// and its .sha1: all get the right bytes, and the jar is cached whole.
func TestProxyConcurrentMisses(t *testing.T) {
	ctx := t.Context()
	jar := strings.Repeat("popular jar ", 5000)
	_, _, up := originWith(t, map[string]string{upJar: jar})
	backend := memory.New()
	replicas := []*testEnv{newProxyEnvOn(t, backend, core.StorageHooks{}, Config{}, up),
		newProxyEnvOn(t, backend, core.StorageHooks{}, Config{}, up)}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		p, want := upJar, jar
		if i%4 == 3 {
			p, want = upJar+".sha1", sha1Hex(jar)
		}
		wg.Go(func() {
			if r := replicas[i%2].get(ctx, p); r.status != http.StatusOK || r.body != want {
				errs <- fmt.Errorf("GET %d %s: %d, %d bytes %.200s", i, p, r.status, len(r.body), r.body)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	c := Coordinates{Group: "com.example", Artifact: "lib", Version: "1.0", File: "lib-1.0.jar"}
	if info, err := replicas[0].storage.Stat(ctx, upstreamFileKey(c)); err != nil || info.Size != int64(len(jar)) {
		t.Fatalf("cached jar: %+v %v", info, err)
	}
}
