package maven

import (
	"archive/zip"
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/internal/e2etest"
	"github.com/smartregistry/smartregistry/internal/handlertest"
)

// TestE2EMavenUpstream: mvn builds, through our example server, projects
// depending on artifacts that only its upstreams hold (two more example
// servers, auth on, the artifacts deployed there with mvn deploy), on the
// filesystem.
func TestE2EMavenUpstream(t *testing.T) { mavenUpstreamScenario(t, e2etest.Options{}) }

// TestE2EMavenUpstreamS3 is the same with our server's cache on MinIO.
func TestE2EMavenUpstreamS3(t *testing.T) { mavenUpstreamScenario(t, e2etest.OnS3(t)) }

func mavenUpstreamScenario(t *testing.T, opts e2etest.Options) {
	mvn := requireMvn(t)
	public := e2etest.StartServer(t, e2etest.Options{})  // everything but com.acme*, asked with HTTP Basic
	private := e2etest.StartServer(t, e2etest.Options{}) // com.acme* only, asked with a Bearer token
	work := t.TempDir()
	u := strings.ReplaceAll(e2etest.Unique("up"), "-", "")
	plainG, acmeG, brokenG := "com.example."+u, "com.acme."+u, "com.broken."+u

	// Deploys with mvn deploy, one deployer (settings.xml) per upstream.
	deployers := map[*e2etest.Server]*mvnClient{
		public:  newMvn(t, mvn, filepath.Join(work, "deploy-public"), public.AdminUser, public.Token, public.URL+"/maven", ""),
		private: newMvn(t, mvn, filepath.Join(work, "deploy-private"), private.AdminUser, private.Token, private.URL+"/maven", ""),
	}
	deploy := func(srv *e2etest.Server, p project) {
		p.repo = srv.URL + "/maven"
		dir := p.write(t, filepath.Join(work, "src", fmt.Sprintf("%p", srv), p.group, p.artifact))
		deployers[srv].run(t, dir, "deploy")
	}
	deploy(public, project{group: plainG, artifact: "plain", version: "1.0", classes: []string{`Plain=return "plain 1.0";`}})
	deploy(public, project{group: plainG, artifact: "snap", version: "2.0-SNAPSHOT", classes: []string{`Snap=return "build 1";`}})
	deploy(private, project{group: acmeG, artifact: "core", version: "1.0", classes: []string{`Core=return "acme core";`}})
	// A squatter of the private coordinates on the public upstream, never
	// asked for: an app using Core does not compile against it.
	deploy(public, project{group: acmeG, artifact: "core", version: "1.0", classes: []string{`Squat=return "squatter";`}})

	// A third upstream, in this process, whose jar breaks off once.
	var cut atomic.Bool
	var jarHits atomic.Int32
	cut.Store(true)
	brokenSrv := httptest.NewServer(brokenUpstream(t, brokenG, &cut, &jarHits))
	t.Cleanup(brokenSrv.Close)

	const ttl = 2 * time.Second
	opts.Env = append(opts.Env, e2etest.UpstreamEnv("MAVEN", ttl,
		private.TokenUpstream("", "/maven", "com.acme*"),
		public.BasicUpstream("/maven", "!com.acme*;!com.broken*"),
		brokenSrv.URL+"/maven#com.broken*")...)
	ours := e2etest.StartServer(t, opts)
	repo := ours.URL + "/maven"

	// build compiles an app depending on deps, whose class App calls
	// calls, from a fresh local repository, with ours as its only
	// repository (and Debian's plugins).
	step := 0
	build := func(wantErr bool, deps []string, calls ...string) string {
		step++
		client := newMvn(t, mvn, filepath.Join(work, fmt.Sprintf("client%d", step)), ours.AdminUser, ours.Token, repo, "")
		app := project{group: "com.example.app" + u, artifact: "app", version: "1.0", repo: repo, deps: deps,
			classes: []string{"App=return " + strings.Join(append(calls, `""`), " + ") + ";"}}
		dir := app.write(t, filepath.Join(work, fmt.Sprintf("app%d", step)))
		out, err := e2etest.RunErr(t, dir, nil, client.mvn, "-s", client.settings, "-B", "-ntp", "-Dmaven.test.skip=true", "compile")
		if (err != nil) != wantErr {
			t.Fatalf("mvn compile (step %d): %v\n%s", step, err, tail(out, 40))
		}
		return out
	}
	deps := []string{plainG + ":plain:[1.0,2.0)", plainG + ":snap:2.0-SNAPSHOT", acmeG + ":core:1.0"}

	// All from ours, each from its own upstream: a version range (artifact
	// metadata), a SNAPSHOT (version metadata), and the private artifact.
	build(false, deps, plainG+".Plain.hello()", plainG+".Snap.hello()", acmeG+".Core.hello()")
	fetched := time.Now() // the metadata was fetched before

	// A newer release and SNAPSHOT build deployed upstream show once the
	// TTL has passed: the app uses classes only they have.
	deploy(public, project{group: plainG, artifact: "plain", version: "1.1",
		classes: []string{`Plain=return "plain 1.1";`, `Plain11=return "new in 1.1";`}})
	deploy(public, project{group: plainG, artifact: "snap", version: "2.0-SNAPSHOT",
		classes: []string{`Snap=return "build 2";`, `Snap2=return "new in build 2";`}})
	time.Sleep(time.Until(fetched.Add(ttl + 100*time.Millisecond)))
	newer := []string{plainG + ".Plain11.hello()", plainG + ".Snap2.hello()", acmeG + ".Core.hello()"}
	build(false, deps, newer...)
	fetched = time.Now()
	if md := get(t, ours, "/maven/"+groupPath(plainG)+"/plain/maven-metadata.xml"); !strings.Contains(md, "<version>1.1</version>") {
		t.Fatalf("artifact metadata through ours:\n%s", md)
	}

	// The squatter's upstream never saw a read of the squatted files (its
	// deployer read the artifact's metadata, no more).
	if logs := public.Logs(); strings.Contains(logs, "method=GET path=/maven/"+groupPath(acmeG)+"/core/1.0/") {
		t.Fatalf("the public upstream was asked for %s:\n%s", acmeG, logs)
	}

	// Both upstreams stop: builds go on from the cache, with a fresh local
	// repository.
	public.Stop(t)
	private.Stop(t)
	time.Sleep(time.Until(fetched.Add(ttl + 100*time.Millisecond))) // the cached metadata is stale now
	build(false, deps, newer...)

	// A jar cut off by the upstream fails the build and is not cached;
	// once the upstream sends it whole, the build works.
	brokenDeps := []string{brokenG + ":lib:1.0"}
	if out := build(true, brokenDeps); !strings.Contains(out, brokenG+":lib:jar:1.0") {
		t.Fatalf("the build failed, but not on the truncated jar:\n%s", tail(out, 30))
	}
	if ours.DataDir != "" {
		key := upstreamFileKey(Coordinates{Group: brokenG, Artifact: "lib", Version: "1.0", File: "lib-1.0.jar"})
		if _, err := os.Stat(filepath.Join(ours.DataDir, filepath.FromSlash(key))); !os.IsNotExist(err) {
			t.Fatalf("the truncated jar was cached: %v", err)
		}
	}
	cut.Store(false)
	hits := jarHits.Load()
	build(false, brokenDeps)
	if jarHits.Load() == hits { // on S3 too: the whole jar came from the upstream, not a cache
		t.Fatal("the jar was not fetched again after the truncated download")
	}
}

// brokenUpstream is a Maven repository (at /maven) holding group:lib:1.0,
// a pom and a jar with their .sha1, whose jar is cut in half while cut is
// set; jarHits counts the jar downloads.
func brokenUpstream(t *testing.T, group string, cut *atomic.Bool, jarHits *atomic.Int32) http.HandlerFunc {
	var jar bytes.Buffer
	zw := zip.NewWriter(&jar)
	w, err := zw.Create("META-INF/MANIFEST.MF")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(w, "Manifest-Version: 1.0\r\nX-Padding: %s\r\n\r\n", strings.Repeat("x", 60))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	pom := fmt.Sprintf("<project xmlns=\"http://maven.apache.org/POM/4.0.0\"><modelVersion>4.0.0</modelVersion>"+
		"<groupId>%s</groupId><artifactId>lib</artifactId><version>1.0</version></project>\n", group)
	dir := "/maven/" + groupPath(group) + "/lib/1.0/"
	files := map[string][]byte{dir + "lib-1.0.pom": []byte(pom), dir + "lib-1.0.jar": jar.Bytes()}
	return func(w http.ResponseWriter, r *http.Request) {
		if base, ok := strings.CutSuffix(r.URL.Path, ".sha1"); ok && files[base] != nil {
			w.Write([]byte(sha1Hex(string(files[base]))))
			return
		}
		body := files[r.URL.Path]
		if body == nil {
			http.NotFound(w, r)
			return
		}
		jar := strings.HasSuffix(r.URL.Path, ".jar")
		if jar {
			jarHits.Add(1)
		}
		handlertest.WriteBody(w, body, jar && cut.Load())
	}
}
