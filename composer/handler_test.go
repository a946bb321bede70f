package composer

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// seed uploads acme/util 1.0.0 (version in composer.json), 1.1.0 and
// 2.0.0-beta1 (version in the query), dev-main and 1.x-dev, and acme/app
// 1.0.0 requiring acme/util ^1.0; it returns the zips by version.
func seed(t *testing.T, e *testEnv) map[string][]byte {
	ctx := t.Context()
	zips := map[string][]byte{}
	for _, u := range []struct {
		p       pkg
		version string
	}{
		{pkg{name: "acme/util", version: "1.0.0"}, ""},
		{pkg{name: "acme/util", label: "1.1.0"}, "1.1.0"},
		{pkg{name: "acme/util", label: "2.0.0-beta1", description: "the utility, rewritten"}, "v2.0.0-beta1"},
		{pkg{name: "acme/util", label: "dev-main"}, "dev-main"},
		{pkg{name: "acme/util", label: "1.x-dev", folder: "acme-util-abc123"}, "1.x-dev"},
		{pkg{name: "acme/app", version: "1.0.0", require: map[string]string{"acme/util": "^1.0"}}, ""},
	} {
		e.mustUpload(ctx, u.p, u.version)
		zips[u.p.name+"@"+cmpOr(u.version, u.p.version)] = u.p.zip(t)
	}
	return zips
}

func TestRepositoryFiles(t *testing.T) {
	e := newTestEnv(t)
	ctx := t.Context()
	zips := seed(t, e)

	var root map[string]any
	e.do(ctx, request{method: "GET", path: "/packages.json", token: adminToken}).json(t, &root)
	if root["metadata-url"] != testBaseURL+"/p2/%package%.json" || root["list"] == nil || root["search"] == nil {
		t.Errorf("packages.json: %v", root)
	}
	if _, ok := root["packages"]; ok {
		t.Errorf("packages.json has inline packages: %v", root)
	}
	if got := root["available-packages"]; !slices.Equal(toStrings(got), []string{"acme/app", "acme/util"}) {
		t.Errorf("available-packages = %v", got)
	}

	tagged := e.versions(ctx, "acme/util.json")
	var order []string
	for _, v := range tagged {
		order = append(order, unquote(t, v["version"]))
	}
	if !slices.Equal(order, []string{"v2.0.0-beta1", "1.1.0", "1.0.0"}) {
		t.Errorf("tagged versions %v", order)
	}
	v100 := tagged[2]
	for k, want := range map[string]string{
		"name": `"acme/util"`, "version_normalized": `"1.0.0.0"`, "license": `"MIT"`, "type": `"library"`,
		"autoload": `{"psr-4":{"Acme\\Util\\":"src/"}}`,
	} {
		if string(v100[k]) != want {
			t.Errorf("1.0.0 %s = %s, want %s", k, v100[k], want)
		}
	}
	if string(tagged[0]["version_normalized"]) != `"2.0.0.0-beta1"` || !strings.Contains(string(tagged[0]["description"]), "rewritten") {
		t.Errorf("2.0.0-beta1: %s %s", tagged[0]["version_normalized"], tagged[0]["description"])
	}
	var d dist
	if err := json.Unmarshal(v100["dist"], &d); err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(zips["acme/util@1.0.0"])
	if d.Type != "zip" || d.Shasum != hex.EncodeToString(sum[:]) || d.Reference != d.Shasum ||
		d.URL != testBaseURL+"/dists/acme/util/"+d.Shasum+".zip" {
		t.Errorf("dist %+v", d)
	}
	if _, ok := v100["time"]; !ok {
		t.Error("no time")
	}
	app := e.versions(ctx, "acme/app.json")
	if string(app[0]["require"]) != `{"acme/util":"^1.0"}` {
		t.Errorf("app require = %s", app[0]["require"])
	}

	// Minified: the second version lists only what changed.
	r := e.do(ctx, request{method: "GET", path: "/p2/acme/util.json", token: adminToken})
	var raw struct {
		Packages map[string][]map[string]json.RawMessage `json:"packages"`
	}
	r.json(t, &raw)
	second := raw.Packages["acme/util"][1]
	if _, ok := second["license"]; ok || second["version"] == nil {
		t.Errorf("second version not minified: %v", second)
	}
	if r.header.Get("Content-Type") != "application/json" || r.header.Get("Last-Modified") == "" {
		t.Errorf("headers %v", r.header)
	}
	// 304 on If-Modified-Since.
	r = e.do(ctx, request{method: "GET", path: "/p2/acme/util.json", token: adminToken,
		header: map[string]string{"If-Modified-Since": r.header.Get("Last-Modified")}})
	if r.status != http.StatusNotModified {
		t.Errorf("If-Modified-Since: %d", r.status)
	}
	r = e.do(ctx, request{method: "GET", path: "/p2/acme/util.json", token: adminToken,
		header: map[string]string{"If-Modified-Since": time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)}})
	if r.status != http.StatusOK {
		t.Errorf("old If-Modified-Since: %d", r.status)
	}

	dev := e.versions(ctx, "acme/util~dev.json")
	var devs []string
	for _, v := range dev {
		devs = append(devs, unquote(t, v["version"])+"="+unquote(t, v["version_normalized"]))
	}
	if !slices.Equal(devs, []string{"1.x-dev=1.9999999.9999999.9999999-dev", "dev-main=dev-main"}) {
		t.Errorf("dev versions %v", devs)
	}
	// A package without dev versions has an empty ~dev file.
	if r := e.do(ctx, request{method: "GET", path: "/p2/acme/app~dev.json", token: adminToken}); r.status != 200 ||
		!strings.Contains(r.body, `"acme/app":[]`) {
		t.Errorf("app~dev: %d %s", r.status, r.body)
	}

	// Download, as the dist URL says.
	r = e.do(ctx, request{method: "GET", path: strings.TrimPrefix(d.URL, testBaseURL), token: adminToken})
	if r.status != 200 || r.body != string(zips["acme/util@1.0.0"]) || r.header.Get("Content-Length") == "" {
		t.Errorf("download: %d, %d bytes, %v", r.status, len(r.body), r.header)
	}

	// list.json and search.json.
	var list struct{ PackageNames []string }
	e.do(ctx, request{method: "GET", path: "/packages/list.json?filter=acme/u*", token: adminToken}).json(t, &list)
	if !slices.Equal(list.PackageNames, []string{"acme/util"}) {
		t.Errorf("list filter: %v", list.PackageNames)
	}
	e.do(ctx, request{method: "GET", path: "/packages/list.json?vendor=acme&type=library", token: adminToken}).json(t, &list)
	if len(list.PackageNames) != 2 {
		t.Errorf("list vendor: %v", list.PackageNames)
	}
	var search struct {
		Results []searchResult
		Total   int
	}
	e.do(ctx, request{method: "GET", path: "/search.json?q=UTIL+package", token: adminToken}).json(t, &search)
	if search.Total != 1 || search.Results[0].Name != "acme/util" || search.Results[0].Description != "test package acme/util" {
		t.Errorf("search: %+v", search)
	}
	e.do(ctx, request{method: "GET", path: "/search.json?q=acme&type=library", token: adminToken}).json(t, &search)
	if search.Total != 2 {
		t.Errorf("search all: %+v", search)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

func unquote(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return s
}

func TestAuthAndErrors(t *testing.T) {
	e := newTestEnv(t)
	seed(t, e)
	zip := pkg{name: "acme/util", version: "3.0.0"}.zip(t)
	e.exchanges(t, []exchange{
		{"anonymous root", request{method: "GET", path: "/packages.json"}, 401, `"status":"error"`},
		{"anonymous p2", request{method: "GET", path: "/p2/acme/util.json"}, 401, "credentials"},
		{"wrong token", request{method: "GET", path: "/p2/acme/util.json", token: "nope"}, 401, ""},
		{"bearer", request{method: "GET", path: "/p2/acme/util.json", token: adminToken, bearer: true}, 200, "acme/util"},
		{"reader", request{method: "GET", path: "/p2/acme/util.json", token: utilReader}, 200, "acme/util"},
		{"reader other package", request{method: "GET", path: "/p2/acme/app.json", token: utilReader}, 403, ""},
		{"unknown package", request{method: "GET", path: "/p2/acme/nothing.json", token: adminToken}, 404, ""},
		{"unknown dev file", request{method: "GET", path: "/p2/acme/nothing~dev.json", token: adminToken}, 404, ""},
		{"invalid name", request{method: "GET", path: "/p2/Acme/Util.json", token: adminToken}, 404, ""},
		{"unknown dist", request{method: "GET", path: "/dists/acme/util/0000.zip", token: adminToken}, 404, ""},
		{"anonymous upload", request{method: "PUT", path: "/packages/acme/util", body: zip}, 401, ""},
		{"read-only token upload", request{method: "PUT", path: "/packages/acme/util", token: adminRO, body: zip}, 403, ""},
		{"writer of another package", request{method: "PUT", path: "/packages/acme/app?version=9.0.0", token: utilWriter,
			body: pkg{name: "acme/app"}.zip(t)}, 403, ""},
		{"writer", request{method: "PUT", path: "/packages/acme/util", token: utilWriter, body: zip}, 201, `"version_normalized":"3.0.0.0"`},
		{"same zip again", request{method: "PUT", path: "/packages/acme/util", token: adminToken, body: zip}, 201, ""},
		{"other bytes, same version", request{method: "PUT", path: "/packages/acme/util?version=3.0",
			token: adminToken, body: pkg{name: "acme/util", label: "x"}.zip(t)}, 409, "already exists"},
		{"wrong method", request{method: "POST", path: "/packages.json", token: adminToken}, 405, ""},
		{"writer may not delete", request{method: "DELETE", path: "/packages/acme/util/3.0.0", token: utilWriter}, 403, ""},
	}, func(t *testing.T, r response) {
		if r.status == 401 && r.header.Get("WWW-Authenticate") != `Basic realm="composer"` {
			t.Errorf("401 without WWW-Authenticate: %v", r.header)
		}
		if r.status >= 400 && !strings.Contains(r.body, `"message"`) {
			t.Errorf("error body %s", r.body)
		}
	})
	var root map[string]any
	e.do(t.Context(), request{method: "GET", path: "/packages.json", token: utilReader}).json(t, &root)
	if got := toStrings(root["available-packages"]); !slices.Equal(got, []string{"acme/util"}) {
		t.Errorf("a reader of acme/util sees %v", got)
	}
}

// exchange is a request and what is expected back.
type exchange struct {
	name   string
	req    request
	status int
	body   string // a part of the answer's body
}

func (e *testEnv) exchanges(t *testing.T, xs []exchange, check func(t *testing.T, r response)) {
	t.Helper()
	for _, x := range xs {
		t.Run(x.name, func(t *testing.T) {
			r := e.do(t.Context(), x.req)
			if r.status != x.status || !strings.Contains(r.body, x.body) {
				t.Fatalf("got %d %q, want %d with %q", r.status, r.body, x.status, x.body)
			}
			if check != nil {
				check(t, r)
			}
		})
	}
}

func TestDelete(t *testing.T) {
	e := newTestEnv(t)
	ctx := t.Context()
	seed(t, e)
	dl := e.versions(ctx, "acme/util.json")[1]
	var d dist
	json.Unmarshal(dl["dist"], &d)
	if r := e.do(ctx, request{method: "DELETE", path: "/packages/acme/util/1.1", token: adminToken}); r.status != 200 {
		t.Fatalf("delete version: %d %s", r.status, r.body)
	}
	if got := len(e.versions(ctx, "acme/util.json")); got != 2 {
		t.Errorf("%d tagged versions after the delete", got)
	}
	if r := e.do(ctx, request{method: "GET", path: strings.TrimPrefix(d.URL, testBaseURL), token: adminToken}); r.status != 404 {
		t.Errorf("deleted dist: %d", r.status)
	}
	if r := e.do(ctx, request{method: "DELETE", path: "/packages/acme/util/1.1.0", token: adminToken}); r.status != 404 {
		t.Errorf("second delete: %d", r.status)
	}
	// A deleted version may be uploaded again.
	e.mustUpload(ctx, pkg{name: "acme/util", label: "again"}, "1.1.0")

	if r := e.do(ctx, request{method: "DELETE", path: "/packages/acme/util", token: adminToken}); r.status != 200 {
		t.Fatalf("delete package: %d %s", r.status, r.body)
	}
	for _, p := range []string{"/p2/acme/util.json", "/p2/acme/util~dev.json"} {
		if r := e.do(ctx, request{method: "GET", path: p, token: adminToken}); r.status != 404 {
			t.Errorf("%s after delete: %d", p, r.status)
		}
	}
	var root map[string]any
	e.do(ctx, request{method: "GET", path: "/packages.json", token: adminToken}).json(t, &root)
	if got := toStrings(root["available-packages"]); !slices.Equal(got, []string{"acme/app"}) {
		t.Errorf("after delete: %v", got)
	}
	for _, k := range e.keys(ctx) {
		if strings.Contains(k, "acme/util") && !strings.HasSuffix(k, "package.json") {
			t.Errorf("left behind: %s", k)
		}
	}
	if r := e.do(ctx, request{method: "DELETE", path: "/packages/acme/nothing", token: adminToken}); r.status != 404 {
		t.Errorf("delete unknown: %d", r.status)
	}
}
