package oci

import (
	"net/http"
	"testing"

	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/core/storage/storagetest"
)

// TestPushRoundTrips counts the storage calls (round trips to a remote
// store) of a monolithic blob push and of a manifest push to an existing
// repository, and fails if they take more than they do now.
func TestPushRoundTrips(t *testing.T) {
	counting := storagetest.NewCounting(memory.New())
	ts := newTestServer(t, counting, Config{})
	m := testImage(t, ts, "trips/app", "first layer")
	runSteps(t, ts, []step{{name: "manifest", method: "PUT", url: "/v2/trips/app/manifests/v1", header: admin("Content-Type", MediaTypeImageManifest), body: m, status: http.StatusCreated}})
	counting.Calls()
	pushBlob(t, ts, "trips/app", []byte("a layer of its own"))
	blob := counting.Calls()
	m = testImage(t, ts, "trips/app", "second layer")
	counting.Calls()
	runSteps(t, ts, []step{{name: "manifest", method: "PUT", url: "/v2/trips/app/manifests/v2", header: admin("Content-Type", MediaTypeImageManifest), body: m, status: http.StatusCreated}})
	manifest := counting.Calls()
	sum := func(calls map[string]int) (n int) {
		for _, c := range calls {
			n += c
		}
		return n
	}
	t.Logf("blob push: %d storage calls %v; manifest push: %d %v", sum(blob), blob, sum(manifest), manifest)
	if sum(blob) > 9 || sum(manifest) > 6 {
		t.Errorf("blob push %d, manifest push %d storage calls; want at most 9 and 6", sum(blob), sum(manifest))
	}
}
