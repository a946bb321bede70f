package maven

import (
	"archive/zip"
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/internal/e2etest"
)

// BenchmarkMvnResolve20 times a clean resolve of 20 artifacts by the real
// mvn: 20 release artifacts (jar and pom) are deployed to the example
// server (filesystem storage), then a project that depends on all of
// them is compiled with a local repository that holds only Maven's own
// plugins (copied from one warmed up once), so that every artifact comes
// from our server, each after a 401 and a retry with credentials. The
// same build without the dependencies is the baseline; their difference
// is what resolving the 20 artifacts cost. There is no
// maven-dependency-plugin in Debian's repository, so the resolve is that
// of `mvn compile`. Run it with -benchtime=1x or 3x.
func BenchmarkMvnResolve20(b *testing.B) {
	mvn := e2etest.RequireTool(b, "mvn")
	if _, err := os.Stat(filepath.Join(debianRepo, "org/apache/maven/plugins/maven-compiler-plugin")); err != nil {
		e2etest.Missing(b, "Debian's Maven plugins are not installed in "+debianRepo)
	}
	srv := e2etest.StartServer(b, e2etest.Options{})
	work := b.TempDir()
	group := "org.bench." + strings.ReplaceAll(e2etest.Unique("r"), "-", "")
	var deps []string
	for i := range 20 {
		a := fmt.Sprintf("dep%02d", i)
		base := "/maven/" + groupPath(group) + "/" + a + "/1.0/" + a + "-1.0"
		pom := fmt.Sprintf(`<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>`+
			`<groupId>%s</groupId><artifactId>%s</artifactId><version>1.0</version></project>`, group, a)
		for path, body := range map[string][]byte{base + ".jar": emptyJar(b), base + ".pom": []byte(pom)} {
			for _, p := range []struct {
				path string
				body []byte
			}{{path, body}, {path + ".sha1", []byte(sha1Hex(string(body)))}} {
				httpPut(b, srv, p.path, p.body)
			}
		}
		deps = append(deps, group+":"+a+":1.0")
	}
	repo := srv.URL + "/maven"
	client := newMvn(b, mvn, filepath.Join(work, "client"), srv.AdminUser, srv.AdminPassword, repo, group)
	bare := project{group: group, artifact: "bare", version: "1.0", repo: repo, classes: []string{`App=return "x";`}}
	full := project{group: group, artifact: "full", version: "1.0", repo: repo, deps: deps, classes: []string{`App=return "x";`}}
	bareDir, fullDir := bare.write(b, filepath.Join(work, "bare")), full.write(b, filepath.Join(work, "full"))
	// Warm up: Maven's plugins from Debian's repository into a local
	// repository kept aside.
	warm := filepath.Join(work, "warm")
	runMvn(b, client, bareDir, warm)
	var with, without []time.Duration
	for b.Loop() {
		for _, tc := range []struct {
			dir   string
			times *[]time.Duration
		}{{bareDir, &without}, {fullDir, &with}} {
			b.StopTimer()
			local := filepath.Join(work, fmt.Sprintf("m2-%d", time.Now().UnixNano()))
			e2etest.Run(b, work, nil, "cp", "-a", warm, local)
			_ = os.RemoveAll(filepath.Join(local, groupPath(group)))
			b.StartTimer()
			start := time.Now()
			runMvn(b, client, tc.dir, local)
			*tc.times = append(*tc.times, time.Since(start))
		}
	}
	w, wo := e2etest.MedianMS(with)/1000, e2etest.MedianMS(without)/1000
	b.ReportMetric(w, "compile-20deps-s")
	b.ReportMetric(wo, "compile-nodeps-s")
	b.ReportMetric(w-wo, "resolve-20-s")
	// What the server spent on the last resolve's requests, from its
	// request log.
	var served []time.Duration
	for _, line := range strings.Split(srv.Logs(), "\n") {
		_, rest, ok := strings.Cut(line, "method=GET path=/maven/"+groupPath(group)+"/dep")
		if !ok {
			continue
		}
		if _, d, ok := strings.Cut(rest, " duration="); ok {
			if dur, err := time.ParseDuration(strings.Fields(d)[0]); err == nil {
				served = append(served, dur)
			}
		}
	}
	if len(served) > 0 {
		b.ReportMetric(float64(len(served)), "requests")
		b.ReportMetric(e2etest.MedianMS(served), "server-median-ms")
	}
}

// runMvn compiles a project with the given local repository.
func runMvn(b *testing.B, m *mvnClient, dir, local string) {
	b.Helper()
	e2etest.Run(b, dir, nil, m.mvn, "-s", m.settings, "-B", "-ntp", "-q", "-Dmaven.test.skip=true",
		"-Dmaven.repo.local="+local, "compile")
}

// emptyJar is a jar with only a manifest.
func emptyJar(b testing.TB) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("META-INF/MANIFEST.MF")
	if err != nil {
		b.Fatal(err)
	}
	_, _ = w.Write([]byte("Manifest-Version: 1.0\r\n\r\n"))
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// httpPut PUTs a file with the admin token and fails on any status but
// 201.
func httpPut(b testing.TB, srv *e2etest.Server, path string, body []byte) {
	b.Helper()
	req, err := http.NewRequest(http.MethodPut, srv.URL+path, bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.SetBasicAuth(srv.AdminUser, srv.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b.Fatalf("PUT %s: %s", path, resp.Status)
	}
}
