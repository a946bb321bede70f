package oci

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/internal/handlertest"
	"github.com/smartregistry/smartregistry/upstream"
)

// hits counts the requests a test upstream gets, by "METHOD path".
type hits struct {
	mu   sync.Mutex
	seen []string
}

// countRequests makes ts count its requests.
func countRequests(ts *httptest.Server) *hits {
	c := &hits{}
	next := ts.Config.Handler
	ts.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.seen = append(c.seen, r.Method+" "+r.URL.Path)
		c.mu.Unlock()
		next.ServeHTTP(w, r)
	})
	return c
}

// count returns how many requests began with prefix ("GET /v2/a/").
func (c *hits) count(prefix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, s := range c.seen {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

// newProxyServer serves a handler on st (memory when nil) proxying ups.
func newProxyServer(t testing.TB, st *core.Storage, cfg Config, ups ...core.Upstream) *testServer {
	t.Helper()
	if st == nil {
		st = core.NewStorage(memory.New(), core.StorageHooks{})
	}
	prov := handlertest.Upstreams(t, core.ProtocolOCI, ups...)
	cfg.Enabled = true
	h, err := New(core.Deps{Storage: st, Auth: testAuth(t), Upstream: prov, Logger: slog.New(slog.DiscardHandler)}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	ts := &testServer{}
	ts.h.Store(h)
	ts.Server = httptest.NewServer(http.HandlerFunc(ts.serveHTTP))
	t.Cleanup(ts.Close)
	return ts
}

// pushImage pushes a one-layer image to name:tag as admin and returns its
// manifest and digest.
func pushImage(t *testing.T, ts *testServer, name, tag, layer string) ([]byte, string) {
	t.Helper()
	m := testImage(t, ts, name, layer)
	runSteps(t, ts, []step{{name: "push manifest", method: "PUT", url: "/v2/" + name + "/manifests/" + tag,
		header: admin("Content-Type", MediaTypeImageManifest), body: m, status: http.StatusCreated}})
	return m, sha256Digest(m)
}

// upstreamOf is core.Upstream for ts, asked as alice (pull in team-a/*).
func upstreamOf(ts *testServer) core.Upstream {
	return core.Upstream{Name: "up", URL: ts.URL, Username: aliceUser, Password: alicePass}
}

func TestUpstreamPullThroughTheTokenFlow(t *testing.T) {
	origin := newTestServer(t, nil, Config{}) // pulls need a token: 401 + Bearer challenge
	manifest, md := pushImage(t, origin, "team-a/app", "v1", "layer one")
	layer := sha256Digest([]byte("layer one"))
	seen := countRequests(origin.Server)
	proxy := newProxyServer(t, nil, Config{Upstream: upstream.Policy{MetadataTTL: time.Hour}}, upstreamOf(origin))

	runSteps(t, proxy, []step{
		{name: "anonymous", method: "GET", url: "/v2/team-a/app/manifests/v1", status: 401},
		{name: "tag", method: "GET", url: "/v2/team-a/app/manifests/v1", header: admin(), status: 200, wantBody: manifest,
			wantHeader: map[string]string{"Docker-Content-Digest": md, "Content-Type": MediaTypeImageManifest,
				"Content-Length": strconv.Itoa(len(manifest))}},
		{name: "HEAD tag", method: "HEAD", url: "/v2/team-a/app/manifests/v1", header: admin(), status: 200,
			wantHeader: map[string]string{"Docker-Content-Digest": md, "Content-Length": strconv.Itoa(len(manifest))}},
		{name: "by digest", method: "GET", url: "/v2/team-a/app/manifests/" + md, header: admin(), status: 200, wantBody: manifest},
		{name: "HEAD of a blob not held", method: "HEAD", url: "/v2/team-a/app/blobs/" + layer, header: admin(), status: 200,
			wantHeader: map[string]string{"Content-Length": "9", "Docker-Content-Digest": layer}},
		{name: "blob", method: "GET", url: "/v2/team-a/app/blobs/" + layer, header: admin(), status: 200, wantBody: []byte("layer one"),
			wantHeader: map[string]string{"Docker-Content-Digest": layer, "Content-Type": "application/octet-stream"}},
		{name: "tags", method: "GET", url: "/v2/team-a/app/tags/list", header: admin(), status: 200,
			wantBody: []byte(`{"name":"team-a/app","tags":["v1"]}`)},
		{name: "no such tag", method: "GET", url: "/v2/team-a/app/manifests/nope", header: admin(), status: 404, code: "MANIFEST_UNKNOWN"},
		{name: "no such repository", method: "GET", url: "/v2/team-a/none/tags/list", header: admin(), status: 404, code: "NAME_UNKNOWN"},
	})
	// alice asked the realm once per scope: the token is cached.
	if n := seen.count("GET /oci/token"); n != 2 {
		t.Errorf("%d token requests, want 2 (team-a/app and team-a/none)", n)
	}
	if n := seen.count("HEAD /v2/team-a/app/blobs/"); n != 1 {
		t.Errorf("%d HEADs of the blob upstream, want 1", n)
	}
	// With the upstream gone, everything is served from the cache, as a
	// local image is (Range included).
	origin.Close()
	runSteps(t, proxy, []step{
		{name: "cached tag", method: "GET", url: "/v2/team-a/app/manifests/v1", header: admin(), status: 200, wantBody: manifest},
		{name: "cached manifest", method: "GET", url: "/v2/team-a/app/manifests/" + md, header: admin(), status: 200, wantBody: manifest,
			wantHeader: map[string]string{"Content-Type": MediaTypeImageManifest}},
		{name: "cached blob range", method: "GET", url: "/v2/team-a/app/blobs/" + layer, header: admin("Range", "bytes=2-4"), status: 206,
			wantBody: []byte("yer"), wantHeader: map[string]string{"Content-Range": "bytes 2-4/9", "Docker-Content-Digest": layer}},
		{name: "cached HEAD", method: "HEAD", url: "/v2/team-a/app/blobs/" + layer, header: admin(), status: 200,
			wantHeader: map[string]string{"Content-Length": "9"}},
		{name: "uncached, upstream down", method: "GET", url: "/v2/team-a/other/manifests/v1", header: admin(), status: 503},
	})
}

func TestUpstreamIndexFetchesOnlyTheAskedPlatform(t *testing.T) {
	origin := newTestServer(t, nil, Config{})
	_, amd := pushImage(t, origin, "team-a/multi", "amd64", "amd64 layer")
	_, arm := pushImage(t, origin, "team-a/multi", "arm64", "arm64 layer")
	index, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": MediaTypeImageIndex, "manifests": []any{
		map[string]any{"mediaType": MediaTypeImageManifest, "digest": amd, "size": 1, "platform": map[string]string{"os": "linux", "architecture": "amd64"}},
		map[string]any{"mediaType": MediaTypeImageManifest, "digest": arm, "size": 1, "platform": map[string]string{"os": "linux", "architecture": "arm64"}},
	}})
	runSteps(t, origin, []step{{name: "push index", method: "PUT", url: "/v2/team-a/multi/manifests/multi",
		header: admin("Content-Type", MediaTypeImageIndex), body: index, status: 201}})
	st := core.NewStorage(memory.New(), core.StorageHooks{})
	proxy := newProxyServer(t, st, Config{}, upstreamOf(origin))
	armLayer := sha256Digest([]byte("arm64 layer"))
	runSteps(t, proxy, []step{
		{name: "index as it is", method: "GET", url: "/v2/team-a/multi/manifests/multi", header: admin("Accept", MediaTypeImageManifest),
			status: 200, wantBody: index, wantHeader: map[string]string{"Content-Type": MediaTypeImageIndex}},
		{name: "arm64", method: "GET", url: "/v2/team-a/multi/manifests/" + arm, header: admin(), status: 200},
		{name: "arm64 layer", method: "GET", url: "/v2/team-a/multi/blobs/" + armLayer, header: admin(), status: 200},
	})
	ctx := t.Context()
	for d, want := range map[string]bool{arm: true, amd: false, armLayer: true, sha256Digest([]byte("amd64 layer")): false} {
		dg, _ := ParseDigest(d)
		_, err := st.Stat(ctx, blobKey(dg))
		if got := err == nil; got != want {
			t.Errorf("%s stored = %v, want %v (%v)", d, got, want, err)
		}
	}
}

func TestUpstreamLocalShadowsAndMerges(t *testing.T) {
	origin := newTestServer(t, nil, Config{})
	upManifest, _ := pushImage(t, origin, "team-a/app", "v1", "upstream v1")
	pushImage(t, origin, "team-a/app", "v2", "upstream v2")
	for _, merge := range []bool{false, true} {
		t.Run("merge="+strconv.FormatBool(merge), func(t *testing.T) {
			proxy := newProxyServer(t, nil, Config{Upstream: upstream.Policy{Merge: merge}}, upstreamOf(origin))
			local, _ := pushImage(t, proxy, "team-a/app", "v1", "local v1")
			pushImage(t, proxy, "team-a/app", "mine", "local mine")
			tags, v2 := `{"name":"team-a/app","tags":["mine","v1"]}`, 404
			if merge {
				tags, v2 = `{"name":"team-a/app","tags":["mine","v1","v2"]}`, 200
			}
			runSteps(t, proxy, []step{
				{name: "tags", method: "GET", url: "/v2/team-a/app/tags/list", header: admin(), status: 200, wantBody: []byte(tags)},
				{name: "local tag wins", method: "GET", url: "/v2/team-a/app/manifests/v1", header: admin(), status: 200, wantBody: local},
				{name: "upstream tag", method: "GET", url: "/v2/team-a/app/manifests/v2", header: admin(), status: v2},
				{name: "page", method: "GET", url: "/v2/team-a/app/tags/list?n=1&last=mine", header: admin(), status: 200,
					wantBody: []byte(`{"name":"team-a/app","tags":["v1"]}`)},
			})
			if string(local) == string(upManifest) {
				t.Fatal("the local and upstream manifests are the same")
			}
		})
	}
}

func TestUpstreamDoesNotServeLocalBytesOfOtherRepositories(t *testing.T) {
	origin := newTestServer(t, nil, Config{})
	pushImage(t, origin, "team-a/app", "v1", "public")
	proxy := newProxyServer(t, nil, Config{}, upstreamOf(origin))
	secret := pushBlob(t, proxy, "team-b/secret", []byte("private bytes"))
	runSteps(t, proxy, []step{
		{name: "GET", method: "GET", url: "/v2/team-a/app/blobs/" + secret, header: admin(), status: 404, code: "BLOB_UNKNOWN"},
		{name: "HEAD", method: "HEAD", url: "/v2/team-a/app/blobs/" + secret, header: admin(), status: 404},
	})
	// The same bytes pushed upstream too are served.
	pushBlob(t, origin, "team-a/app", []byte("private bytes"))
	runSteps(t, proxy, []step{{name: "upstream has them", method: "GET", url: "/v2/team-a/app/blobs/" + secret, header: admin(),
		status: 200, wantBody: []byte("private bytes")}})
}

// cutUpstream is a registry holding one blob of repository team-a/cut that
// it cuts off halfway while cut is set.
func cutUpstream(t *testing.T, blob []byte, cut *bool, mu *sync.Mutex) *httptest.Server {
	d := sha256Digest(blob)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2/team-a/cut/blobs/"+d {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		c := *cut
		mu.Unlock()
		handlertest.WriteBody(w, blob, c)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestUpstreamTruncatedBlobIsNotCached(t *testing.T) {
	blob := []byte(strings.Repeat("0123456789", 10000))
	d, _ := ParseDigest(sha256Digest(blob))
	var mu sync.Mutex
	cut := true
	srv := cutUpstream(t, blob, &cut, &mu)
	st := core.NewStorage(memory.New(), core.StorageHooks{})
	proxy := newProxyServer(t, st, Config{}, core.Upstream{Name: "cut", URL: srv.URL})
	get := func() ([]byte, error) {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", proxy.URL+"/v2/team-a/cut/blobs/"+d.String(), nil)
		req.SetBasicAuth(adminUser, adminPass)
		resp, err := proxy.Client().Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		return io.ReadAll(resp.Body)
	}
	if body, err := get(); err == nil && string(body) == string(blob) {
		t.Fatal("the truncated blob was served whole")
	}
	if _, err := st.Stat(t.Context(), blobKey(d)); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("the truncated blob was stored: %v", err)
	}
	mu.Lock()
	cut = false
	mu.Unlock()
	if body, err := get(); err != nil || string(body) != string(blob) {
		t.Fatalf("after the fix: %d bytes, %v", len(body), err)
	}
	// The client has all the bytes a moment before the fill moves them
	// into place.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		_, err := st.Stat(t.Context(), blobKey(d))
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the whole blob was not stored: %v", err)
		}
	}
	if page, _ := st.List(t.Context(), fillsPrefix, core.ListOptions{}); len(page.Objects) != 0 {
		t.Fatalf("staged fills left: %v", page.Objects)
	}
}

func TestUpstreamStaleWhenUpstreamIsLost(t *testing.T) {
	origin := newTestServer(t, nil, Config{})
	manifest, _ := pushImage(t, origin, "team-a/app", "v1", "layer")
	proxy := newProxyServer(t, nil, Config{Upstream: upstream.Policy{MetadataTTL: time.Nanosecond}}, upstreamOf(origin))
	tag := step{name: "tag", method: "GET", url: "/v2/team-a/app/manifests/v1", header: admin(), status: 200, wantBody: manifest}
	runSteps(t, proxy, []step{tag})
	origin.Close()
	tag.name = "stale tag"
	runSteps(t, proxy, []step{tag,
		{name: "tags list never fetched", method: "GET", url: "/v2/team-a/app/tags/list", header: admin(), status: 503}})
}

func TestUpstreamFillsAreSeenByStorageHooks(t *testing.T) {
	origin := newTestServer(t, nil, Config{})
	pushImage(t, origin, "team-a/app", "v1", "hooked layer")
	layer := sha256Digest([]byte("hooked layer"))
	var mu sync.Mutex
	var events []core.HookEvent
	refuse := false
	hooks := core.StorageHooks{
		BeforePut: func(_ context.Context, ev core.HookEvent) error {
			mu.Lock()
			defer mu.Unlock()
			if refuse && ev.Kind == core.KindArtifact {
				return errors.New("no room")
			}
			return nil
		},
		AfterPut: func(_ context.Context, ev core.HookEvent) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, ev)
		},
	}
	st := core.NewStorage(memory.New(), hooks)
	proxy := newProxyServer(t, st, Config{}, upstreamOf(origin))
	runSteps(t, proxy, []step{{name: "blob", method: "GET", url: "/v2/team-a/app/blobs/" + layer, header: admin(), status: 200}})
	mu.Lock()
	found := false
	for _, ev := range events {
		if ev.Kind == core.KindArtifact && ev.Package == "team-a/app" && ev.Version == layer {
			found = true
		}
	}
	refuse = true
	mu.Unlock()
	if !found {
		t.Fatalf("no artifact event for the fill: %+v", events)
	}
	// A refused fill leaves the pull working, uncached.
	other := pushBlob(t, origin, "team-a/app", []byte("refused layer"))
	runSteps(t, proxy, []step{{name: "refused fill", method: "GET", url: "/v2/team-a/app/blobs/" + other, header: admin(),
		status: 200, wantBody: []byte("refused layer")}})
	od, _ := ParseDigest(other)
	if _, err := st.Stat(t.Context(), blobKey(od)); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("the refused blob was stored: %v", err)
	}
}

func TestUpstreamNewNamesNeedWriteAndPushesStayLocal(t *testing.T) {
	origin := newTestServer(t, nil, Config{})
	pushImage(t, origin, "team-a/app", "v1", "layer")
	seen := countRequests(origin.Server)
	proxy := newProxyServer(t, nil, Config{Upstream: upstream.Policy{NewNamesNeedWrite: true}}, upstreamOf(origin))
	alice := basic(aliceUser, alicePass)
	runSteps(t, proxy, []step{
		{name: "alice may not fetch a new name", method: "GET", url: "/v2/team-a/app/manifests/v1", header: alice, status: 403},
		{name: "admin may", method: "GET", url: "/v2/team-a/app/manifests/v1", header: admin(), status: 200},
		{name: "then alice may read", method: "GET", url: "/v2/team-a/app/tags/list", header: alice, status: 200},
	})
	before := seen.count("")
	pushBlob(t, proxy, "team-a/app", []byte("pushed here"))
	pushImage(t, proxy, "team-a/pushed", "v1", "pushed layer")
	if n := seen.count(""); n != before {
		t.Fatalf("pushes went upstream: %d requests", n-before)
	}
}

func TestUpstreamReadIsEnoughByDefault(t *testing.T) {
	origin := newTestServer(t, nil, Config{})
	manifest, _ := pushImage(t, origin, "team-a/app", "v1", "layer")
	proxy := newProxyServer(t, nil, Config{}, upstreamOf(origin))
	runSteps(t, proxy, []step{
		{name: "alice pulls a new name", method: "GET", url: "/v2/team-a/app/manifests/v1", header: basic(aliceUser, alicePass),
			status: 200, wantBody: manifest},
		{name: "but not outside her scope", method: "GET", url: "/v2/team-b/app/manifests/v1", header: basic(aliceUser, alicePass), status: 403},
	})
}

func TestUpstreamStagedFillsAreSwept(t *testing.T) {
	st := core.NewStorage(memory.New(), core.StorageHooks{})
	proxy := newProxyServer(t, st, Config{}, core.Upstream{Name: "none", URL: "http://127.0.0.1:1"})
	ctx := t.Context()
	// Fills are judged by the creation time in their key (and their
	// modification time, which is now for both here).
	old := core.StageKey(fillsPrefix, time.Now().Add(-48*time.Hour))
	fresh := core.StageKey(fillsPrefix, time.Now().Add(time.Hour))
	for _, k := range []string{old, fresh} {
		if _, err := st.Put(ctx, k, strings.NewReader("half a blob"), 11, core.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := proxy.h.Load().CleanUploads(ctx, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Stat(ctx, old); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("the abandoned fill is still there: %v", err)
	}
	if _, err := st.Stat(ctx, fresh); err != nil {
		t.Errorf("a fill in progress was swept: %v", err)
	}
}
