package npm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

// seedPackument stores a package with n versions directly, as n publishes
// would have left it.
func seedPackument(ctx context.Context, tb testing.TB, e *testEnv, name string, n int) {
	tb.Helper()
	now := time.Now().UTC()
	d := newPackument(name)
	d.init(name, now)
	for i := range n {
		v := fmt.Sprintf("1.%d.0", i)
		m, _ := json.Marshal(map[string]any{
			"name": name, "version": v, "description": "a package with many versions",
			"readme":       "# readme\n\nlong text that the abbreviated document leaves out",
			"dependencies": map[string]string{"left-pad": "^1.0.0", "right-pad": "~2.1.0"},
			"scripts":      map[string]string{"test": "node test.js"},
			"dist": map[string]any{"shasum": "0123456789abcdef0123456789abcdef01234567",
				"integrity": "sha512-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
				"fileCount": 3, "unpackedSize": 1234},
			"_npmUser": map[string]string{"name": "admin"},
		})
		d.bump(now)
		entry, err := newEntry(name, v, m, d.Head.Seq, now, fmt.Sprintf("id-%d", i), "AAAA")
		if err != nil {
			tb.Fatal(err)
		}
		if err := d.setVersion(v, entry); err != nil {
			tb.Fatal(err)
		}
	}
	d.Head.DistTags["latest"] = fmt.Sprintf("1.%d.0", n-1)
	b, err := d.MarshalBinary()
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := e.storage.Put(ctx, packumentKey(name), bytes.NewReader(b), int64(len(b)), core.PutOptions{}); err != nil {
		tb.Fatal(err)
	}
}

// seedSearchIndex writes n packages into the search index's shards
// directly, one write per shard.
func seedSearchIndex(ctx context.Context, tb testing.TB, e *testEnv, n int) {
	tb.Helper()
	var shards [searchShards]core.EntryDoc[shardHead]
	for i := range n {
		name := fmt.Sprintf("pkg-%05d", i)
		data, _ := json.Marshal(searchEntry{Version: "1.0.0",
			Description: fmt.Sprintf("package number %d of the benchmark", i), Keywords: []string{"bench", "k" + fmt.Sprint(i%100)},
			Date: time.Now().UTC(), Publisher: "admin", Seq: 1})
		if err := shards[searchShard(name)].Set(name, data); err != nil {
			tb.Fatal(err)
		}
	}
	for i := range shards {
		b, err := shards[i].MarshalBinary()
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := e.storage.Put(ctx, searchShardKey(i), bytes.NewReader(b), int64(len(b)), core.PutOptions{}); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkAbbreviatedPackument500 measures GET of the abbreviated document
// of a package with 500 versions through Handle (cached rendering; each
// request still checks the stored ETag). Requests per second = 1e9 / ns/op.
func BenchmarkAbbreviatedPackument500(b *testing.B) {
	ctx := b.Context()
	e := newTestEnv(b, nil)
	seedPackument(ctx, b, e, "many", 500)
	b.ReportAllocs()
	var size int64
	header := http.Header{"Accept": {abbreviatedType}, "Authorization": {"Bearer " + adminToken}}
	for b.Loop() {
		req := &core.RequestContext{Method: http.MethodGet, Path: "/many", Header: header, Body: http.NoBody,
			Actor: &core.Actor{}, BaseURL: testBase}
		resp, err := e.h.Handle(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		size, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(float64(size), "bytes/doc")
}

// BenchmarkAbbreviatedPackument500Uncached renders the document anew for
// every request: the cost after each publish.
func BenchmarkAbbreviatedPackument500Uncached(b *testing.B) {
	ctx := b.Context()
	e := newTestEnv(b, nil)
	seedPackument(ctx, b, e, "many", 500)
	b.ReportAllocs()
	for b.Loop() {
		e.h.cache = newPackumentCache(defaultPackumentCacheSize)
		if r := e.do(ctx, http.MethodGet, "/many", adminToken, nil, "Accept", abbreviatedType); r.status != http.StatusOK {
			b.Fatalf("%d %s", r.status, r.body)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkSearch10000 searches an index of 10,000 packages.
func BenchmarkSearch10000(b *testing.B) {
	ctx := b.Context()
	e := newTestEnv(b, nil)
	seedSearchIndex(ctx, b, e, 10000)
	for _, q := range []string{"pkg-00042", "pkg-001", "k42"} {
		b.Run(q, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := e.do(ctx, http.MethodGet, "/-/v1/search?size=20&text="+q, adminToken, nil)
				if r.status != http.StatusOK {
					b.Fatalf("%d %s", r.status, r.body)
				}
			}
		})
	}
}

// BenchmarkAbbreviatedPackument500HTTP is the same over loopback HTTP,
// with parallel clients: what a server on this machine answers.
func BenchmarkAbbreviatedPackument500HTTP(b *testing.B) {
	ctx := b.Context()
	e := newTestEnv(b, nil)
	seedPackument(ctx, b, e, "many", 500)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := &core.RequestContext{Method: r.Method, Path: r.URL.EscapedPath(), Header: r.Header, Query: r.URL.Query(),
			Body: r.Body, Actor: &core.Actor{}, BaseURL: "http://" + r.Host + "/npm"}
		resp, err := e.h.Handle(r.Context(), req)
		if err != nil {
			resp = e.h.ErrorResponse(r.Context(), req, err)
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.Status)
		if resp.Body != nil {
			io.Copy(w, resp.Body)
			resp.Body.Close()
		}
	}))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/many", nil)
			req.Header.Set("Accept", abbreviatedType)
			req.Header.Set("Authorization", "Bearer "+adminToken)
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
}
