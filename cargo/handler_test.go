package cargo

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

func strp(s string) *string { return &s }

// TestPublishIndexDownload publishes two versions and checks the index
// file line by line, its validators, config.json and the download.
func TestPublishIndexDownload(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, false)
	helper := testCrate{name: "helper", vers: "1.0.0"}
	e.mustPublish(ctx, helper)
	v1 := testCrate{name: "foo", vers: "0.1.0", description: "the foo crate"}
	v2 := testCrate{name: "foo", vers: "0.2.0-beta.1+build.5", deps: []PublishDep{
		{Name: "helper", VersionReq: "^1", Optional: true, DefaultFeatures: true, Kind: "normal", ExplicitNameInToml: strp("h"),
			Features: []string{"x"}},
		{Name: "serde", VersionReq: "^1.0", DefaultFeatures: true, Kind: "dev", Target: strp("cfg(unix)"),
			Registry: strp("https://github.com/rust-lang/crates.io-index")},
	}, features: map[string][]string{"default": {"std"}, "std": {}, "extra": {"dep:h"}, "weak": {"h?/x"}}}
	e.mustPublish(ctx, v1)
	e.mustPublish(ctx, v2)

	lines := e.indexLines(ctx, "foo")
	if len(lines) != 2 || lines[0].Vers != "0.1.0" || lines[1].Vers != v2.vers {
		t.Fatalf("index lines: %+v", lines)
	}
	if got, want := lines[0].Cksum, sha256Hex(v1.crateFile(t)); got != want {
		t.Errorf("cksum %s, want %s", got, want)
	}
	if _, err := time.Parse(PubtimeLayout, lines[0].Pubtime); err != nil || len(lines[0].Pubtime) != 20 {
		t.Errorf("pubtime %q: %v", lines[0].Pubtime, err)
	}
	l := lines[1]
	if l.V != 2 || len(l.Features2) != 2 || len(l.Features) != 2 || l.Yanked {
		t.Errorf("features: %+v / %+v, v %d", l.Features, l.Features2, l.V)
	}
	h := l.Deps[0]
	if h.Name != "h" || h.Package == nil || *h.Package != "helper" || h.Req != "^1" || !h.Optional || h.Registry != nil {
		t.Errorf("renamed dependency: %+v", h)
	}
	s := l.Deps[1]
	if s.Kind != "dev" || s.Registry == nil || s.Target == nil || *s.Target != "cfg(unix)" || s.Package != nil {
		t.Errorf("crates.io dependency: %+v", s)
	}

	r := e.get(ctx, "/3/f/foo")
	etag, lm := r.header.Get("ETag"), r.header.Get("Last-Modified")
	if etag == "" || lm == "" {
		t.Fatalf("validators: %v", r.header)
	}
	for _, hd := range []map[string]string{{"If-None-Match": etag}, {"If-None-Match": `"x", W/` + etag}, {"If-Modified-Since": lm}} {
		if r := e.do(ctx, request{method: "GET", path: "/3/f/foo", token: adminToken, header: hd}); r.status != http.StatusNotModified || r.body != "" {
			t.Errorf("%v: %d", hd, r.status)
		}
	}
	if r := e.do(ctx, request{method: "GET", path: "/3/f/foo", token: adminToken, header: map[string]string{"If-None-Match": `"other"`}}); r.status != 200 {
		t.Errorf("stale If-None-Match: %d", r.status)
	}
	e.mustPublish(ctx, testCrate{name: "foo", vers: "0.3.0"})
	if r := e.get(ctx, "/3/f/foo"); r.header.Get("ETag") == etag || strings.Count(r.body, "\n") != 3 {
		t.Errorf("after a publish: ETag %s, %d lines", r.header.Get("ETag"), strings.Count(r.body, "\n"))
	}

	for _, p := range []string{"/3/f/fo", "/2/fo/foo", "/fo/o/foo", "/3/F/FOO", "/3/f/bar", "/ab/cd/abcd", "/1/a"} {
		if r := e.get(ctx, p); r.status != http.StatusNotFound {
			t.Errorf("GET %s: %d", p, r.status)
		}
	}

	var cfg map[string]any
	r = e.get(ctx, "/config.json")
	if err := json.Unmarshal([]byte(r.body), &cfg); err != nil || cfg["dl"] != testBaseURL+"/api/v1/crates" ||
		cfg["api"] != testBaseURL || cfg["auth-required"] != true {
		t.Errorf("config.json: %s", r.body)
	}

	r = e.get(ctx, "/api/v1/crates/foo/0.1.0/download")
	if r.status != 200 || r.body != string(v1.crateFile(t)) || r.header.Get("Content-Length") == "" {
		t.Errorf("download: %d %v", r.status, r.header)
	}
	for _, p := range []string{"/api/v1/crates/foo/9.9.9/download", "/api/v1/crates/nope/1.0.0/download",
		"/api/v1/crates/foo/0.2.0-beta.1/download", "/api/v1/crates/foo/x/download"} {
		if r := e.get(ctx, p); r.status != http.StatusNotFound || !strings.Contains(r.body, `"detail"`) {
			t.Errorf("GET %s: %d %s", p, r.status, r.body)
		}
	}
	if r := e.get(ctx, "/api/v1/crates/foo/"+v2.vers+"/download"); r.status != 200 {
		t.Errorf("download with build metadata: %d", r.status)
	}
	if r := e.do(ctx, request{method: "POST", path: "/config.json", token: adminToken}); r.status != 405 || r.header.Get("Allow") == "" {
		t.Errorf("POST config.json: %d %v", r.status, r.header)
	}
}

// TestAuth checks who may do what, with auth-required and with anonymous
// read.
func TestAuth(t *testing.T) {
	ctx := t.Context()
	private, public := newTestEnv(t, false), newTestEnv(t, true)
	for _, e := range []*testEnv{private, public} {
		e.mustPublish(ctx, testCrate{name: "foo", vers: "1.0.0"})
		e.mustPublish(ctx, testCrate{name: "bar", vers: "1.0.0"})
	}
	newer := testCrate{name: "foo", vers: "1.1.0"}
	for _, tc := range []struct {
		name   string
		e      *testEnv
		req    request
		status int
	}{
		{"anonymous config.json", private, request{method: "GET", path: "/config.json"}, 401},
		{"anonymous index", private, request{method: "GET", path: "/3/f/foo"}, 401},
		{"anonymous unknown index", private, request{method: "GET", path: "/3/n/nop"}, 401},
		{"anonymous download", private, request{method: "GET", path: "/api/v1/crates/foo/1.0.0/download"}, 401},
		{"anonymous search", private, request{method: "GET", path: "/api/v1/crates?q=foo"}, 401},
		{"wrong token", private, request{method: "GET", path: "/3/f/foo", token: "nope"}, 401},
		{"bare token", private, request{method: "GET", path: "/3/f/foo", token: adminToken}, 200},
		{"bearer token", private, request{method: "GET", path: "/3/f/foo", token: "Bearer " + adminToken}, 200},
		{"reader of foo reads foo", private, request{method: "GET", path: "/3/f/foo", token: fooReader}, 200},
		{"reader of foo reads bar", private, request{method: "GET", path: "/3/b/bar", token: fooReader}, 403},
		{"reader of foo publishes", private, request{method: "PUT", path: "/api/v1/crates/new", token: fooReader, body: newer.body(t)}, 403},
		{"read-only token publishes", private, request{method: "PUT", path: "/api/v1/crates/new", token: readOnly, body: newer.body(t)}, 403},
		{"anonymous publish", public, request{method: "PUT", path: "/api/v1/crates/new", body: newer.body(t)}, 401},
		{"non-owner publishes", private, request{method: "PUT", path: "/api/v1/crates/new", token: aliceToken, body: newer.body(t)}, 403},
		{"non-owner yanks", private, request{method: "DELETE", path: "/api/v1/crates/foo/1.0.0/yank", token: aliceToken}, 403},
		{"non-owner adds owners", private, request{method: "PUT", path: "/api/v1/crates/foo/owners", token: aliceToken, body: []byte(`{"users":["alice"]}`)}, 403},
		{"non-admin deletes", private, request{method: "DELETE", path: "/api/v1/crates/foo/1.0.0", token: fooReader}, 403},
		{"anonymous config.json, anonymous read", public, request{method: "GET", path: "/config.json"}, 200},
		{"anonymous index, anonymous read", public, request{method: "GET", path: "/3/f/foo"}, 200},
		{"anonymous download, anonymous read", public, request{method: "GET", path: "/api/v1/crates/foo/1.0.0/download"}, 200},
		{"anonymous yank, anonymous read", public, request{method: "DELETE", path: "/api/v1/crates/foo/1.0.0/yank"}, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.e.do(ctx, tc.req)
			if r.status != tc.status {
				t.Fatalf("%d, want %d: %s", r.status, tc.status, r.body)
			}
			if r.status >= 400 {
				var body struct {
					Errors []struct{ Detail string } `json:"errors"`
				}
				if json.Unmarshal([]byte(r.body), &body) != nil || len(body.Errors) != 1 || body.Errors[0].Detail == "" {
					t.Errorf("error body %s", r.body)
				}
			}
			if r.status == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), `Cargo login_url="`+testBaseURL) {
				t.Errorf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
			}
		})
	}
	if r := public.do(ctx, request{method: "GET", path: "/config.json"}); !strings.Contains(r.body, `"auth-required":false`) {
		t.Errorf("config.json with anonymous read: %s", r.body)
	}
}

// TestNameSpellings: names equal up to case and "-"/"_" are one crate,
// whose first spelling wins.
func TestNameSpellings(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, false)
	e.mustPublish(ctx, testCrate{name: "Foo_Bar", vers: "1.0.0"})
	for _, other := range []string{"foo-bar", "FOO_BAR", "foo_bar"} {
		if r := e.publish(ctx, adminToken, testCrate{name: other, vers: "1.1.0"}.body(t)); r.status != 400 || !strings.Contains(r.body, "Foo_Bar") {
			t.Errorf("publish as %s: %d %s", other, r.status, r.body)
		}
	}
	e.mustPublish(ctx, testCrate{name: "Foo_Bar", vers: "1.1.0"})
	if r := e.get(ctx, "/fo/o_/foo_bar"); r.status != 200 || strings.Count(r.body, "\n") != 2 {
		t.Errorf("index file: %d %s", r.status, r.body)
	}
	if r := e.get(ctx, "/fo/o-/foo-bar"); r.status != 404 {
		t.Errorf("index file under another spelling: %d", r.status)
	}
	for _, p := range []string{"/api/v1/crates/foo-bar/1.0.0/download", "/api/v1/crates/FOO_BAR/owners"} {
		if r := e.get(ctx, p); r.status != 200 {
			t.Errorf("GET %s: %d", p, r.status)
		}
	}
}

// TestYankOwnersDelete covers yank and unyank, the owners API, and the
// delete of a version.
func TestYankOwnersDelete(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, false)
	c := testCrate{name: "foo", vers: "1.0.0"}
	e.mustPublish(ctx, c)
	e.mustPublish(ctx, testCrate{name: "foo", vers: "1.1.0"})
	call := func(method, path, token, body string) response {
		return e.do(ctx, request{method: method, path: path, token: token, body: []byte(body)})
	}

	for _, tc := range []struct {
		method string
		yanked bool
	}{{"DELETE", true}, {"DELETE", true}, {"PUT", false}, {"PUT", false}} {
		path := "/api/v1/crates/foo/1.0.0/yank"
		if tc.method == "PUT" {
			path = "/api/v1/crates/foo/1.0.0/unyank"
		}
		if r := call(tc.method, path, adminToken, ""); r.status != 200 || r.body != `{"ok":true}` {
			t.Fatalf("%s %s: %d %s", tc.method, path, r.status, r.body)
		}
		if got := e.indexLines(ctx, "foo")[0].Yanked; got != tc.yanked {
			t.Errorf("after %s: yanked %v", tc.method, got)
		}
	}
	if r := call("DELETE", "/api/v1/crates/foo/9.0.0/yank", adminToken, ""); r.status != 404 {
		t.Errorf("yank of a missing version: %d", r.status)
	}

	owners := func() []string {
		r := call("GET", "/api/v1/crates/foo/owners", adminToken, "")
		var body struct {
			Users []struct {
				ID    int    `json:"id"`
				Login string `json:"login"`
			} `json:"users"`
		}
		if err := json.Unmarshal([]byte(r.body), &body); err != nil {
			t.Fatalf("owners: %d %s", r.status, r.body)
		}
		var out []string
		for _, u := range body.Users {
			out = append(out, u.Login)
		}
		return out
	}
	if got := owners(); !slices.Equal(got, []string{"admin"}) {
		t.Errorf("owners: %v", got)
	}
	if r := call("PUT", "/api/v1/crates/foo/owners", adminToken, `{"users":["alice"]}`); r.status != 200 || !strings.Contains(r.body, `"msg"`) {
		t.Fatalf("add alice: %d %s", r.status, r.body)
	}
	if got := owners(); !slices.Equal(got, []string{"admin", "alice"}) {
		t.Errorf("owners: %v", got)
	}
	// Alice, an owner now, publishes and removes the admin.
	if r := e.publish(ctx, aliceToken, testCrate{name: "foo", vers: "1.2.0"}.body(t)); r.status != 200 {
		t.Errorf("alice publishes: %d %s", r.status, r.body)
	}
	if r := call("DELETE", "/api/v1/crates/foo/owners", aliceToken, `{"users":["admin"]}`); r.status != 200 {
		t.Errorf("alice removes admin: %d %s", r.status, r.body)
	}
	if r := call("DELETE", "/api/v1/crates/foo/owners", aliceToken, `{"users":["alice"]}`); r.status != 400 {
		t.Errorf("removing the last owner: %d %s", r.status, r.body)
	}
	for _, body := range []string{``, `{}`, `{"users":[]}`, `{"users":["a b"]}`, `{"users":["` + strings.Repeat("x", 101) + `"]}`} {
		if r := call("PUT", "/api/v1/crates/foo/owners", aliceToken, body); r.status != 400 {
			t.Errorf("owners body %.30q: %d", body, r.status)
		}
	}

	// Delete: the version leaves the index and its file the storage, and
	// is never published again.
	before := len(e.keys(ctx))
	if r := call("DELETE", "/api/v1/crates/foo/1.0.0", adminToken, ""); r.status != 200 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if got := len(e.keys(ctx)); got != before-1 {
		t.Errorf("keys after delete: %d, want %d", got, before-1)
	}
	if lines := e.indexLines(ctx, "foo"); len(lines) != 2 || lines[0].Vers != "1.1.0" {
		t.Errorf("index after delete: %+v", lines)
	}
	if r := e.publish(ctx, aliceToken, c.body(t)); r.status != 400 || !strings.Contains(r.body, "deleted") {
		t.Errorf("re-publish after delete: %d %s", r.status, r.body)
	}
	if r := call("GET", "/api/v1/crates/foo/1.0.0/download", adminToken, ""); r.status != 404 {
		t.Errorf("download after delete: %d", r.status)
	}
}

// TestSearch checks ranking, paging, meta.total and that crates a caller
// may not read are left out.
func TestSearch(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, false)
	for _, c := range []testCrate{
		{name: "foo", vers: "1.0.0", description: "the first"},
		{name: "foo", vers: "1.2.0", description: "the foo crate"},
		{name: "foo", vers: "1.1.0", description: "an older one"},
		{name: "foo_extra", vers: "0.1.0"},
		{name: "barfoo", vers: "2.0.0"},
		{name: "other", vers: "3.0.0", description: "Mentions FOO"},
		{name: "unrelated", vers: "1.0.0"},
	} {
		e.mustPublish(ctx, c)
	}
	type hit struct {
		Name        string  `json:"name"`
		MaxVersion  string  `json:"max_version"`
		Description *string `json:"description"`
	}
	search := func(token, query string) ([]hit, int) {
		r := e.do(ctx, request{method: "GET", path: "/api/v1/crates?" + query, token: token})
		var body struct {
			Crates []hit `json:"crates"`
			Meta   struct {
				Total int `json:"total"`
			} `json:"meta"`
		}
		if err := json.Unmarshal([]byte(r.body), &body); err != nil || r.status != 200 {
			t.Fatalf("search %s: %d %s", query, r.status, r.body)
		}
		return body.Crates, body.Meta.Total
	}
	hits, total := search(adminToken, "q=foo&per_page=10")
	var names []string
	for _, h := range hits {
		names = append(names, h.Name)
	}
	if total != 4 || !slices.Equal(names, []string{"foo", "foo_extra", "barfoo", "other"}) {
		t.Errorf("search foo: %v (total %d)", names, total)
	}
	if hits[0].MaxVersion != "1.2.0" || hits[0].Description == nil || *hits[0].Description != "the foo crate" {
		t.Errorf("foo: %+v", hits[0])
	}
	if hits, total := search(adminToken, "q=foo&per_page=2&page=2"); total != 4 || len(hits) != 2 || hits[0].Name != "barfoo" {
		t.Errorf("page 2: %+v (total %d)", hits, total)
	}
	if hits, total := search(fooReader, "q=foo"); total != 1 || hits[0].Name != "foo" {
		t.Errorf("as reader of foo: %+v (total %d)", hits, total)
	}
	// Yanking the highest version lowers max_version.
	e.do(ctx, request{method: "DELETE", path: "/api/v1/crates/foo/1.2.0/yank", token: adminToken})
	if hits, _ := search(adminToken, "q=foo&per_page=1"); hits[0].MaxVersion != "1.1.0" {
		t.Errorf("after yanking 1.2.0: %+v", hits[0])
	}
}

// TestRebuildSearchIndex: after the search index is lost, RebuildSearchIndex
// brings every crate back with its max_version.
func TestRebuildSearchIndex(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, false)
	e.mustPublish(ctx, testCrate{name: "foo", vers: "1.0.0"})
	e.mustPublish(ctx, testCrate{name: "foo", vers: "1.1.0"})
	e.mustPublish(ctx, testCrate{name: "bar", vers: "0.1.0"})
	for i := range searchShards {
		if err := e.storage.Delete(ctx, searchShardKey(i)); err != nil && !errors.Is(err, core.ErrNotFound) {
			t.Fatal(err)
		}
	}
	if r := e.get(ctx, "/api/v1/crates?q="); !strings.Contains(r.body, `"total":0`) {
		t.Fatalf("search without an index: %s", r.body)
	}
	if err := e.h.RebuildSearchIndex(ctx); err != nil {
		t.Fatal(err)
	}
	r := e.get(ctx, "/api/v1/crates?q=")
	if !strings.Contains(r.body, `"total":2`) || !strings.Contains(r.body, `"name":"foo","max_version":"1.1.0"`) &&
		!strings.Contains(r.body, `"max_version":"1.1.0","name":"foo"`) {
		t.Errorf("search after the rebuild: %s", r.body)
	}
}
