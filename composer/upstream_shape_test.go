package composer

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/handlertest"
)

// TestProxyPackagistShape: an upstream shaped like Packagist: its
// repository URL has a path, its packages.json names a host-absolute
// metadata-url (resolved against packages.json, not appended to the URL),
// its dists live on another host (a CDN, asked without credentials), and
// its minified entries inherit fields.
func TestProxyPackagistShape(t *testing.T) {
	ctx := t.Context()
	zips := map[string][]byte{
		"1.0.0": pkg{name: "acme/util", version: "1.0.0"}.zip(t),
		"1.1.0": pkg{name: "acme/util", version: "1.1.0"}.zip(t),
	}
	var cdnAuth atomic.Value
	cdnAuth.Store("")
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("Authorization"); a != "" {
			cdnAuth.Store(a)
		}
		v := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/zipball/"), ".zip")
		if z, ok := zips[v]; ok {
			w.Write(z)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(cdn.Close)
	entry := func(v string) string {
		sum := sha1.Sum(zips[v])
		return fmt.Sprintf(`"version":%q,"version_normalized":"%s.0","dist":{"type":"zip","url":%q,"reference":"ref-%s","shasum":%q}`,
			v, v, cdn.URL+"/zipball/"+v+".zip", v, hex.EncodeToString(sum[:]))
	}
	repo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer up-token" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/repo/packages.json":
			w.Write([]byte(`{"packages":[],"metadata-url":"/repo/meta/%package%.json","available-packages":["acme/util"]}`))
		case "/repo/meta/acme/util.json":
			fmt.Fprintf(w, `{"minified":"composer/2.0","packages":{"acme/util":[{"name":"acme/util","description":"d",%s},{%s}]}}`,
				entry("1.1.0"), entry("1.0.0"))
		case "/repo/meta/acme/util~dev.json":
			w.Write([]byte(`{"minified":"composer/2.0","packages":{"acme/util":[]}}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(repo.Close)
	e := newProxyEnv(t, Config{}, core.Upstream{Name: "packagist", URL: repo.URL + "/repo", Token: "up-token"})

	r := e.do(ctx, request{method: "GET", path: "/p2/acme/util.json", token: utilReader})
	if r.status != http.StatusOK {
		t.Fatalf("p2: %d %s", r.status, r.body)
	}
	got := p2Dists(t, r.body)
	for v, z := range zips {
		d := got[v]
		if d["url"] != testBaseURL+"/dists/acme/util/ref-"+v+".zip" || d["reference"] != "ref-"+v {
			t.Errorf("%s: dist %v", v, d)
		}
		zr := e.do(ctx, request{method: "GET", path: strings.TrimPrefix(d["url"], testBaseURL), token: utilReader})
		if zr.status != http.StatusOK || !bytes.Equal([]byte(zr.body), z) {
			t.Errorf("%s: zip %d", v, zr.status)
		}
	}
	if !strings.Contains(r.body, `"description":"d"`) {
		t.Errorf("fields lost: %s", r.body)
	}
	if dev := e.do(ctx, request{method: "GET", path: "/p2/acme/util~dev.json", token: utilReader}); dev.status != http.StatusOK {
		t.Errorf("~dev: %d %s", dev.status, dev.body)
	}
	if a := cdnAuth.Load().(string); a != "" {
		t.Errorf("the CDN was sent credentials: %s", a)
	}
}

// TestProxyCrashStates: lost answers to the cache writes (the stored /p2/
// file, the zip's move into place) never fail a download nor leave a
// half-written cache entry; what a crash leaves in the middle of a fill (a
// staged zip) is swept like an abandoned upload.
func TestProxyCrashStates(t *testing.T) {
	ctx := t.Context()
	origin := newTestEnv(t)
	zips := seed(t, origin)
	backend, lose := handlertest.LosingBackend(upstreamPrefix)
	e := newProxyEnvOn(t, backend, Config{}, core.Upstream{Name: "o", URL: origin.serve().URL, Token: adminToken})

	var url string
	for range 2 { // answers lost, then not
		r := e.do(ctx, request{method: "GET", path: "/p2/acme/util.json", token: adminToken})
		if r.status != http.StatusOK {
			t.Fatalf("p2: %d %s", r.status, r.body)
		}
		url = strings.TrimPrefix(p2Dists(t, r.body)["1.0.0"]["url"], testBaseURL)
		for range 2 {
			if z := e.do(ctx, request{method: "GET", path: url, token: adminToken}); z.status != http.StatusOK || z.body != string(zips["acme/util@1.0.0"]) {
				t.Fatalf("zip: %d, %d bytes", z.status, len(z.body))
			}
		}
		lose.Store(false)
	}
	ref := strings.TrimSuffix(url[strings.LastIndexByte(url, '/')+1:], ".zip")
	got := handlertest.ReadAll(t, e.storage, upstreamDistKey("acme/util", ref))
	if string(got) != string(zips["acme/util@1.0.0"]) {
		t.Fatal("the cached zip differs")
	}

	handlertest.SweepsStaged(t, e.storage, uploadKey(time.Now().Add(-2*time.Hour), "crashed"), uploadsPrefix, e.h.CleanUploads)
}
