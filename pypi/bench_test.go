package pypi

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

// BenchmarkSimpleProject measures GET /simple/<project>/ on a project with
// 1,000 files (500 versions, a wheel and an sdist each), in both variants,
// with the page cache (the default) and without it (every request reads,
// decodes and renders the project document). Reported as requests/s on one
// goroutine, through Handle on the memory backend, anonymous read.
func BenchmarkSimpleProject(b *testing.B) {
	for _, cached := range []bool{true, false} {
		e := newTestEnv(b, true)
		if !cached {
			e.h.pages = newPageCache(-1)
		}
		seed1000Files(b, e, "big")
		for _, v := range []struct{ name, accept string }{{"html", "text/html"}, {"json", ContentTypeJSON}} {
			name := v.name
			if !cached {
				name += "-nocache"
			}
			b.Run(name, func(b *testing.B) {
				ctx := b.Context()
				var size int64
				for b.Loop() {
					req := &core.RequestContext{Method: "GET", Path: "/simple/big/", Header: http.Header{"Accept": {v.accept}},
						Query: url.Values{}, Actor: &core.Actor{}, BaseURL: testBaseURL}
					resp, err := e.h.Handle(ctx, req)
					if err != nil || resp.Status != 200 {
						b.Fatalf("%v", err)
					}
					if size, err = io.Copy(io.Discard, resp.Body); err != nil {
						b.Fatal(err)
					}
					resp.Body.Close()
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
				b.ReportMetric(float64(size), "page-bytes")
			})
		}
	}
}

// seed1000Files writes a project document with 1,000 file records directly,
// as 1,000 uploads would have left it.
func seed1000Files(b *testing.B, e *testEnv, project string) {
	b.Helper()
	_, err := e.h.updateProject(b.Context(), project, func(doc *projectDoc, _ bool) error {
		for i := range 500 {
			v := fmt.Sprintf("1.%d.0", i)
			for _, f := range []struct{ name, typ string }{
				{project + "-" + v + "-py3-none-any.whl", TypeWheel}, {project + "-" + v + ".tar.gz", TypeSdist},
			} {
				rec := fileRecord{Filename: f.name, Version: v, Type: f.typ, PythonVersion: "py3", RequiresPython: ">=3.8",
					Size: 12345, SHA256: strings.Repeat("ab", 32), MD5: strings.Repeat("cd", 16), BLAKE2b256: strings.Repeat("ef", 32),
					UploadTime: time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC)}
				if f.typ == TypeWheel {
					rec.MetadataSHA256 = strings.Repeat("12", 32)
				}
				if doc.Releases == nil {
					doc.Releases = map[string]releaseRecord{}
				}
				doc.Name, doc.Releases[v] = project, releaseRecord{Created: rec.UploadTime}
				doc.Files = append(doc.Files, rec)
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSimpleProjectHTTP is BenchmarkSimpleProject over loopback HTTP
// with parallel clients, so the figure includes the HTTP stack and moving
// the page bytes.
func BenchmarkSimpleProjectHTTP(b *testing.B) {
	e := newTestEnv(b, true)
	seed1000Files(b, e, "big")
	srv := e.serve()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for _, v := range []struct{ name, accept string }{{"html", "text/html"}, {"json", ContentTypeJSON}} {
		b.Run(v.name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequestWithContext(b.Context(), http.MethodGet, srv.URL+"/simple/big/", nil)
					req.Header.Set("Accept", v.accept)
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}
