package cargo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/internal/e2etest"
)

// client sends a request to a registry: a Handler, or a server over HTTP.
type client interface {
	do(ctx context.Context, r request) response
}

// TestConcurrentPublishes publishes 20 versions of one crate at once
// through two handlers sharing one store, as two registry processes would:
// on one memory backend, and on one MinIO bucket through two S3 clients.
// TestE2EConcurrentPublishesS3 does the same with two example servers.
func TestConcurrentPublishes(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T) (core.Backend, core.Backend)
	}{
		{"memory", func(*testing.T) (core.Backend, core.Backend) { b := memory.New(); return b, b }},
		{"s3", func(t *testing.T) (core.Backend, core.Backend) {
			opts := e2etest.S3Options(t, "smartregistry-cargo-test", "race")
			return e2etest.S3Backend(t, opts), e2etest.S3Backend(t, opts)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b1, b2 := tc.open(t)
			e1, e2 := newTestEnvOn(t, b1, false, noHooks), newTestEnvOn(t, b2, false, noHooks)
			concurrentPublishes(t, []client{e1, e2}, adminToken)
			for _, k := range e1.keys(t.Context()) {
				if strings.HasPrefix(k, uploadsPrefix) {
					t.Errorf("upload left behind: %s", k)
				}
			}
		})
	}
}

// TestE2EConcurrentPublishesS3 runs the lost-update test against two
// example servers (two Registry instances) sharing one MinIO bucket.
func TestE2EConcurrentPublishesS3(t *testing.T) {
	e2etest.S3Env(t)
	bucket := "cargo-race-" + strings.ToLower(e2etest.Unique("b")[2:])
	token := e2etest.Unique("race-token")
	env := []string{"SMARTREGISTRY_S3_BUCKET=" + bucket, "SMARTREGISTRY_TOKEN=" + token}
	var clients []client
	for range 2 {
		srv := e2etest.StartServer(t, e2etest.Options{S3: true, Env: env})
		clients = append(clients, &httpClient{t: t, base: srv.URL + "/cargo"})
	}
	concurrentPublishes(t, clients, token)
}

// concurrentPublishes publishes 20 versions of one crate at once, spread
// over the clients, and checks through each that every version landed
// with a valid index line and its crate file, and that search shows the
// highest.
func concurrentPublishes(t *testing.T, clients []client, token string) {
	ctx := t.Context()
	const n = 20
	name := strings.ReplaceAll(e2etest.Unique("race"), "-", "_")
	crates := make([][]byte, n)
	bodies := make([][]byte, n)
	for i := range n {
		c := testCrate{name: name, vers: fmt.Sprintf("1.0.%d", i)}
		crates[i], bodies[i] = c.crateFile(t), c.body(t)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			r := clients[i%len(clients)].do(ctx, request{method: http.MethodPut, path: "/api/v1/crates/new", token: token, body: bodies[i]})
			if r.status != http.StatusOK {
				t.Errorf("publish 1.0.%d: %d %s", i, r.status, r.body)
			}
		})
	}
	close(start)
	wg.Wait()
	for _, c := range clients {
		get := func(path string) response {
			return c.do(ctx, request{method: http.MethodGet, path: path, token: token})
		}
		r := get("/" + IndexPath(name))
		seen := map[string]bool{}
		for line := range strings.SplitSeq(strings.TrimSuffix(r.body, "\n"), "\n") {
			var l IndexEntry
			if err := json.Unmarshal([]byte(line), &l); err != nil || l.Name != name {
				t.Errorf("index line %q: %v", line, err)
			}
			seen[l.Vers] = true
		}
		if r.status != 200 || strings.Count(r.body, "\n") != n || len(seen) != n {
			t.Errorf("index file: %d, %d lines, %d versions", r.status, strings.Count(r.body, "\n"), len(seen))
		}
		for i := range n {
			if r := get(fmt.Sprintf("/api/v1/crates/%s/1.0.%d/download", name, i)); r.status != 200 || r.body != string(crates[i]) {
				t.Errorf("download 1.0.%d: %d", i, r.status)
			}
		}
		var found struct {
			Crates []struct {
				MaxVersion string `json:"max_version"`
			} `json:"crates"`
		}
		if r := get("/api/v1/crates?q=" + name); json.Unmarshal([]byte(r.body), &found) != nil || len(found.Crates) != 1 ||
			found.Crates[0].MaxVersion != "1.0.19" {
			t.Errorf("search: %s", r.body)
		}
	}
}

// httpClient sends requests to a server's cargo base URL.
type httpClient struct {
	t    *testing.T
	base string
}

func (c *httpClient) do(ctx context.Context, r request) response {
	req, err := http.NewRequestWithContext(ctx, r.method, c.base+r.path, bytes.NewReader(r.body))
	if err != nil {
		c.t.Fatal(err)
	}
	if r.token != "" {
		req.Header.Set("Authorization", r.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Error(err)
		return response{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}
