package maven

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/filesystem"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/core/storage/storagetest"
	"github.com/smartregistry/smartregistry/internal/e2etest"
)

// seedVersions lists versions 1.0 … 1.(n-1) of an artifact in its
// document, as n deploys would have left it.
func seedVersions(b testing.TB, e *testEnv, group, artifact string, n int) {
	b.Helper()
	for i := range n {
		if err := e.h.addVersion(b.Context(), group, artifact, fmt.Sprintf("1.%d", i)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkArtifactMetadata measures GET of an artifact-level
// maven-metadata.xml listing 500 versions, with the render cache (the
// default: a stat, then the cached bytes) and without it (every request
// reads and renders the artifact document). Reported as requests/s on one
// goroutine, through Handle, on the memory and the filesystem backend and
// on the test MinIO (skipped without one).
func BenchmarkArtifactMetadata(b *testing.B) {
	for _, backend := range []string{"memory", "filesystem", "s3"} {
		for _, cached := range []bool{true, false} {
			name := backend
			if !cached {
				name += "-nocache"
			}
			b.Run(name, func(b *testing.B) {
				var be core.Backend = memory.New()
				switch backend {
				case "filesystem":
					fs, err := filesystem.New(b.TempDir())
					if err != nil {
						b.Fatal(err)
					}
					be = fs
				case "s3":
					be = e2etest.S3Backend(b, e2etest.S3Options(b, "smartregistry-maven-test", "bench"))
				}
				cfg := Config{}
				if !cached {
					cfg.MetadataCacheEntries = -1
				}
				e := newTestEnvOn(b, be, cfg, core.StorageHooks{})
				seedVersions(b, e, "org.bench", "big", 500)
				ctx := b.Context()
				var size int64
				for b.Loop() {
					req := core.NewRequest("GET", "/org/bench/big/maven-metadata.xml", nil)
					req.Header.Set("Authorization", "Bearer "+adminToken)
					resp, err := e.h.Handle(ctx, req)
					if err != nil {
						b.Fatal(err)
					}
					if size, err = io.Copy(io.Discard, resp.Body); err != nil {
						b.Fatal(err)
					}
					resp.Body.Close()
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
				b.ReportMetric(float64(size), "metadata-bytes")
			})
		}
	}
}

// mvnDeploy does what mvn deploy does for one release version: PUT of the
// jar and the pom with their sha1 and md5, then GET of the artifact-level
// metadata and PUT of it (with the new version added, as the client
// merges it) and its checksums. With filesOnly, only the jar and pom.
func mvnDeploy(b *testing.B, e *testEnv, version string, versions []string, filesOnly bool) {
	ctx := b.Context()
	base := "/org/bench/grow/" + version + "/grow-" + version
	reqs := []request{
		{method: "PUT", path: base + ".jar", body: "jar " + version},
		{method: "PUT", path: base + ".pom", body: "pom " + version},
	}
	if !filesOnly {
		reqs = []request{
			reqs[0], {method: "PUT", path: base + ".jar.sha1", body: sha1Hex("jar " + version)},
			{method: "PUT", path: base + ".jar.md5", body: strings.Repeat("0", 32)},
			reqs[1], {method: "PUT", path: base + ".pom.sha1", body: sha1Hex("pom " + version)},
			{method: "GET", path: "/org/bench/grow/maven-metadata.xml"},
			{method: "PUT", path: "/org/bench/grow/maven-metadata.xml", body: artifactMetadata("org.bench", "grow", versions...)},
			{method: "PUT", path: "/org/bench/grow/maven-metadata.xml.sha1", body: sha1Hex("x")},
		}
	}
	for _, r := range reqs {
		r.token = adminToken
		got := e.do(ctx, r)
		if got.status >= 300 && !(r.method == "GET" && got.status == 404) && !strings.HasSuffix(r.path, ".md5") {
			b.Fatalf("%s %s: %d %s", r.method, r.path, got.status, got.body)
		}
	}
}

// BenchmarkDeployGrowth deploys versions 1…500 of one artifact in a row,
// one client, on the filesystem backend, and reports the median deploy
// time of the first 50 and of the last 50, their ratio, and deploys per
// second over the last 50. "mvn" is the whole sequence mvn sends
// (files, checksums, metadata GET and PUT; the client's metadata lists
// every version, so its size grows by nature); "files" only the jar and
// pom. Run it with -benchtime=1x: one iteration is one whole series.
func BenchmarkDeployGrowth(b *testing.B) {
	const n = 500
	for _, filesOnly := range []bool{false, true} {
		name := "mvn"
		if filesOnly {
			name = "files"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				var be core.Backend = memory.New()
				if os.Getenv("MAVEN_BENCH_MEMORY") == "" {
					fs, err := filesystem.New(b.TempDir())
					if err != nil {
						b.Fatal(err)
					}
					be = fs
				}
				e := newTestEnvOn(b, be, Config{}, core.StorageHooks{})
				b.StartTimer()
				times := make([]time.Duration, n)
				var versions []string
				for i := range n {
					v := fmt.Sprintf("1.%d", i)
					versions = append(versions, v)
					start := time.Now()
					mvnDeploy(b, e, v, versions, filesOnly)
					times[i] = time.Since(start)
				}
				start := time.Now()
				if r := e.get(b.Context(), "/org/bench/grow/maven-metadata.xml"); r.status != http.StatusOK ||
					!strings.Contains(r.body, fmt.Sprintf("<version>1.%d</version>", n-1)) {
					b.Fatalf("metadata: %d", r.status)
				}
				e2etest.ReportGrowth(b, times, time.Since(start), "deploys/s")
			}
		})
	}
}

// TestDeployRoundTrips counts the storage calls (round trips to a remote
// store) of one deploy of a file of a new version of an existing
// artifact, and fails if it takes more than it does now.
func TestDeployRoundTrips(t *testing.T) {
	ctx := t.Context()
	counting := storagetest.NewCounting(memory.New())
	e := newTestEnvOn(t, counting, Config{}, core.StorageHooks{})
	e.deploy(ctx, "/org/trips/app/1.0/app-1.0.jar", "one")
	e.h.sweeper.Wait()
	counting.Calls()
	if r := e.do(ctx, request{method: "PUT", path: "/org/trips/app/1.1/app-1.1.jar", body: "two", token: adminToken}); r.status != 201 {
		t.Fatalf("deploy: %d %s", r.status, r.body)
	}
	calls := counting.Calls()
	total := 0
	for _, n := range calls {
		total += n
	}
	t.Logf("deploy of a jar of a new version: %d storage calls %v", total, calls)
	if total > 7 {
		t.Errorf("a deploy makes %d storage calls %v, want at most 7", total, calls)
	}
}

// BenchmarkDeployS3 deploys 50 versions of one artifact (jar and pom),
// one client, on the test MinIO, and reports the median time of a
// version's deploy. Run it with -benchtime=1x.
func BenchmarkDeployS3(b *testing.B) {
	const n = 50
	for b.Loop() {
		b.StopTimer()
		e := newTestEnvOn(b, e2etest.S3Backend(b, e2etest.S3Options(b, "smartregistry-maven-test", "deploy")), Config{}, core.StorageHooks{})
		b.StartTimer()
		times := make([]time.Duration, n)
		for i := range n {
			start := time.Now()
			mvnDeploy(b, e, fmt.Sprintf("1.%d", i), nil, true)
			times[i] = time.Since(start)
		}
		b.ReportMetric(e2etest.MedianMS(times), "deploy-ms")
	}
}
