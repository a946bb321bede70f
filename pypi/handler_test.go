package pypi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestSimpleAPI uploads two versions of two projects and checks the simple
// API, downloads, the metadata files and the JSON API, request by request.
func TestSimpleAPI(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, true)
	foo1 := dist{name: "Foo", version: "1.0", requiresPython: ">=3.7,<4"}
	foo2 := dist{name: "foo", version: "2.0", requires: []string{"bar-lib>=1.0"}}
	bar := dist{name: "Bar_Lib", version: "1.0.0"}
	for _, d := range []dist{foo1, foo2, bar} {
		e.mustUpload(ctx, d)
	}
	wheel1 := foo1.wheel(t)
	wheelHash := sha256Hex(wheel1)
	metaHash := sha256Hex([]byte(foo1.metadata()))
	pipAccept := "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"

	tests := []struct {
		name       string
		req        request
		status     int
		header     map[string]string
		contains   []string
		notContain []string
	}{
		{name: "index html", req: request{method: "GET", path: "/simple/"}, status: 200,
			header:   map[string]string{"Content-Type": "text/html; charset=utf-8"},
			contains: []string{`<a href="bar-lib/">bar-lib</a>`, `<a href="foo/">foo</a>`, `content="1.1"`}},
		{name: "index json", req: request{method: "GET", path: "/simple/", header: map[string]string{"Accept": pipAccept}},
			status: 200, header: map[string]string{"Content-Type": ContentTypeJSON},
			contains: []string{`"api-version":"1.1"`, `{"name":"bar-lib"}`, `{"name":"foo"}`}},
		{name: "index no slash", req: request{method: "GET", path: "/simple"}, status: 301,
			header: map[string]string{"Location": testBaseURL + "/simple/"}},
		{name: "project html", req: request{method: "GET", path: "/simple/foo/"}, status: 200,
			header: map[string]string{"Content-Type": "text/html; charset=utf-8", "Vary": "Accept"},
			contains: []string{
				`<a href="../../packages/foo/foo-1.0-py3-none-any.whl#sha256=` + wheelHash + `" data-requires-python="&gt;=3.7,&lt;4" data-dist-info-metadata="sha256=` + metaHash + `" data-core-metadata="sha256=` + metaHash + `">foo-1.0-py3-none-any.whl</a>`,
				`>foo-1.0.tar.gz</a>`, `>foo-2.0-py3-none-any.whl</a>`, `<title>Links for foo</title>`}},
		{name: "project json by accept", req: request{method: "GET", path: "/simple/foo/", header: map[string]string{"Accept": pipAccept}},
			status: 200, header: map[string]string{"Content-Type": ContentTypeJSON},
			contains: []string{`"name":"foo"`, `"versions":["1.0","2.0"]`, `"filename":"foo-1.0-py3-none-any.whl"`,
				`"url":"../../packages/foo/foo-1.0-py3-none-any.whl"`, `"hashes":{"sha256":"` + wheelHash + `"}`,
				`"requires-python":">=3.7,<4"`, `"core-metadata":{"sha256":"` + metaHash + `"}`, `"yanked":false`,
				`"size":` + strconv.Itoa(len(wheel1)), `"upload-time":"20`},
			// PEP 714: the old key only in HTML; pip 23.0 crashes on it in JSON.
			notContain: []string{`dist-info-metadata`}},
		{name: "project json by format", req: request{method: "GET", path: "/simple/foo/?format=" + url.QueryEscape(ContentTypeJSON)}, status: 200,
			header: map[string]string{"Content-Type": ContentTypeJSON}},
		{name: "project v1 html by accept", req: request{method: "GET", path: "/simple/foo/",
			header: map[string]string{"Accept": "application/vnd.pypi.simple.v1+html, application/vnd.pypi.simple.v1+json;q=0.5"}},
			status: 200, header: map[string]string{"Content-Type": ContentTypeHTML}},
		{name: "bad format", req: request{method: "GET", path: "/simple/foo/?format=text/plain"}, status: 400},
		{name: "sdist has no core metadata link", req: request{method: "GET", path: "/simple/foo/"}, status: 200,
			contains: []string{`<a href="../../packages/foo/foo-1.0.tar.gz#sha256=` + sha256Hex(foo1.sdist(t)) + `" data-requires-python="&gt;=3.7,&lt;4">`}},
		{name: "redirect non-normalized", req: request{method: "GET", path: "/simple/Bar_Lib/?format=" + url.QueryEscape(ContentTypeJSON)}, status: 301,
			header: map[string]string{"Location": testBaseURL + "/simple/bar-lib/?format=application%2Fvnd.pypi.simple.v1%2Bjson"}},
		{name: "redirect no slash", req: request{method: "GET", path: "/simple/bar.lib"}, status: 301,
			header: map[string]string{"Location": testBaseURL + "/simple/bar-lib/"}},
		{name: "unknown project", req: request{method: "GET", path: "/simple/nothing/"}, status: 404},
		{name: "download", req: request{method: "GET", path: "/packages/foo/foo-1.0-py3-none-any.whl"}, status: 200,
			header: map[string]string{"Content-Length": strconv.Itoa(len(wheel1))}},
		{name: "head download", req: request{method: "HEAD", path: "/packages/foo/foo-1.0-py3-none-any.whl"}, status: 200,
			header: map[string]string{"Content-Length": strconv.Itoa(len(wheel1))}},
		{name: "core metadata", req: request{method: "GET", path: "/packages/foo/foo-1.0-py3-none-any.whl.metadata"}, status: 200,
			contains: []string{"Name: Foo\nVersion: 1.0\n"}},
		{name: "download missing", req: request{method: "GET", path: "/packages/foo/foo-9.0.tar.gz"}, status: 404},
		{name: "download traversal", req: request{method: "GET", path: "/packages/foo/..%2F..%2Fproject.json"}, status: 404},
		{name: "json api", req: request{method: "GET", path: "/foo/json"}, status: 200,
			contains: []string{`"version":"2.0"`, `"requires_dist":["bar-lib>=1.0"]`, `"releases":{"1.0":[`, `"2.0":[`,
				`"url":"` + testBaseURL + `/packages/foo/foo-2.0-py3-none-any.whl"`, `"packagetype":"bdist_wheel"`,
				`"digests":{"blake2b_256":"`, `"name":"foo"`, `"project_urls":{"Source":"https://example.invalid/src"}`}},
		{name: "json api version", req: request{method: "GET", path: "/foo/1.0/json"}, status: 200,
			contains: []string{`"version":"1.0"`, `"requires_python":">=3.7,<4"`, `"urls":[{`}, notContain: []string{`"releases"`}},
		{name: "json api redirect", req: request{method: "GET", path: "/Foo/json"}, status: 301,
			header: map[string]string{"Location": testBaseURL + "/foo/json"}},
		{name: "json api missing version", req: request{method: "GET", path: "/foo/3.0/json"}, status: 404},
		{name: "method not allowed", req: request{method: "PUT", path: "/simple/foo/"}, status: 405,
			header: map[string]string{"Allow": "GET, HEAD"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(ctx, tt.req)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			for k, v := range tt.header {
				if got := r.header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			for _, s := range tt.contains {
				if !strings.Contains(r.body, s) {
					t.Errorf("body lacks %s\n%s", s, r.body)
				}
			}
			for _, s := range tt.notContain {
				if strings.Contains(r.body, s) {
					t.Errorf("body has %s", s)
				}
			}
		})
	}
	t.Run("download is the upload", func(t *testing.T) {
		r := e.do(ctx, request{method: "GET", path: "/packages/foo/foo-1.0-py3-none-any.whl"})
		if r.body != string(wheel1) {
			t.Fatal("downloaded wheel differs from the upload")
		}
		r = e.do(ctx, request{method: "GET", path: "/packages/foo/foo-1.0-py3-none-any.whl.metadata"})
		if sha256Hex([]byte(r.body)) != metaHash {
			t.Fatal("metadata file does not match data-core-metadata")
		}
	})
}

// TestSdistCoreMetadata: an sdist's PKG-INFO is announced as core
// metadata only when it is Metadata-Version 2.2+ and leaves nothing a
// resolver reads Dynamic.
func TestSdistCoreMetadata(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, true)
	tests := []struct {
		d        dist
		announce bool
	}{
		{dist{name: "foo", version: "1.0"}, false}, // 2.1
		{dist{name: "foo", version: "2.0", metadataVersion: "2.2", dynamic: []string{"License"}}, true},
		{dist{name: "foo", version: "3.0", metadataVersion: "2.4", dynamic: []string{"Requires-Dist"}}, false},
	}
	for _, tt := range tests {
		if r := e.upload(ctx, tt.d, tt.d.sdistName(), tt.d.sdist(t), nil); r.status != 200 {
			t.Fatalf("upload %s: %d %s", tt.d.sdistName(), r.status, r.body)
		}
	}
	html := e.do(ctx, request{method: "GET", path: "/simple/foo/"}).body
	var page struct {
		Files []struct {
			Filename     string `json:"filename"`
			CoreMetadata any    `json:"core-metadata"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(e.do(ctx, request{method: "GET", path: "/simple/foo/", header: map[string]string{"Accept": ContentTypeJSON}}).body), &page); err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		md := tt.d.metadata()
		link := `data-core-metadata="sha256=` + sha256Hex([]byte(md)) + `"`
		if got := strings.Contains(html, link+`>`+tt.d.sdistName()); got != tt.announce {
			t.Errorf("%s: html announces core metadata: %v, want %v\n%s", tt.d.sdistName(), got, tt.announce, html)
		}
		var want any = false
		if tt.announce {
			want = map[string]any{"sha256": sha256Hex([]byte(md))}
		}
		if f := page.Files[i]; !reflect.DeepEqual(f.CoreMetadata, want) {
			t.Errorf("%s: json core-metadata %v, want %v", f.Filename, f.CoreMetadata, want)
		}
		r := e.do(ctx, request{method: "GET", path: "/packages/foo/" + tt.d.sdistName() + ".metadata"})
		if r.status != 200 || r.body != md {
			t.Errorf("%s.metadata: %d %q", tt.d.sdistName(), r.status, r.body)
		}
	}
}

// TestYankAndDelete drives the management API.
func TestYankAndDelete(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, true)
	e.mustUpload(ctx, dist{name: "foo", version: "1.0"})
	e.mustUpload(ctx, dist{name: "foo", version: "2.0"})
	page := func(accept string) string {
		return e.do(ctx, request{method: "GET", path: "/simple/foo/", header: map[string]string{"Accept": accept}}).body
	}

	r := e.do(ctx, request{method: "PUT", path: "/foo/2.0/yank", token: adminToken,
		header: map[string]string{"Content-Type": "application/json"}, body: []byte(`{"reason":"broken <build>"}`)})
	if r.status != 200 || !strings.Contains(r.body, `"yanked":true`) {
		t.Fatalf("yank: %d %s", r.status, r.body)
	}
	if p := page(""); !strings.Contains(p, `data-yanked="broken &lt;build&gt;">foo-2.0-py3-none-any.whl`) ||
		strings.Contains(p, `data-yanked="broken &lt;build&gt;">foo-1.0`) {
		t.Fatalf("html after yank:\n%s", p)
	}
	if p := page(ContentTypeJSON); !strings.Contains(p, `"yanked":"broken <build>"`) {
		t.Fatalf("json after yank:\n%s", p)
	}
	var info struct {
		Info struct {
			Version string `json:"version"`
		} `json:"info"`
	}
	if err := json.Unmarshal([]byte(e.do(ctx, request{method: "GET", path: "/foo/json"}).body), &info); err != nil || info.Info.Version != "1.0" {
		t.Fatalf("latest with 2.0 yanked = %q (%v), want 1.0", info.Info.Version, err)
	}
	// Yank without a reason, by query; then unyank.
	if r := e.do(ctx, request{method: "PUT", path: "/foo/1.0/yank", token: adminToken}); r.status != 200 {
		t.Fatalf("yank 1.0: %d %s", r.status, r.body)
	}
	if p := page(""); !strings.Contains(p, `data-yanked="">foo-1.0.tar.gz`) {
		t.Fatalf("html after empty yank:\n%s", p)
	}
	if p := page(ContentTypeJSON); !strings.Contains(p, `"yanked":true`) {
		t.Fatalf("json after empty yank:\n%s", p)
	}
	for _, v := range []string{"1.0", "2.0"} {
		if r := e.do(ctx, request{method: "DELETE", path: "/foo/" + v + "/yank", token: adminToken}); r.status != 200 {
			t.Fatalf("unyank: %d %s", r.status, r.body)
		}
	}
	if p := page(""); strings.Contains(p, "data-yanked") {
		t.Fatalf("html after unyank:\n%s", p)
	}

	// Deletes need the delete scope; a writer may yank but not delete.
	if r := e.do(ctx, request{method: "DELETE", path: "/foo/2.0", token: fooWriter}); r.status != 403 {
		t.Fatalf("delete as writer: %d %s", r.status, r.body)
	}
	if r := e.do(ctx, request{method: "PUT", path: "/foo/2.0/yank", token: fooWriter}); r.status != 200 {
		t.Fatalf("yank as writer: %d %s", r.status, r.body)
	}
	r = e.do(ctx, request{method: "DELETE", path: "/packages/foo/foo-1.0.tar.gz", token: adminToken})
	if r.status != 200 || !strings.Contains(r.body, `"deleted":["foo-1.0.tar.gz"]`) {
		t.Fatalf("delete file: %d %s", r.status, r.body)
	}
	r = e.do(ctx, request{method: "DELETE", path: "/foo/2.0", token: adminToken})
	if r.status != 200 || !strings.Contains(r.body, `"deleted":["foo-2.0-py3-none-any.whl","foo-2.0.tar.gz"]`) {
		t.Fatalf("delete release: %d %s", r.status, r.body)
	}
	if r := e.do(ctx, request{method: "DELETE", path: "/foo/2.0", token: adminToken}); r.status != 404 {
		t.Fatalf("delete release twice: %d %s", r.status, r.body)
	}
	p := page(ContentTypeJSON)
	if !strings.Contains(p, `"versions":["1.0"]`) || strings.Contains(p, "foo-2.0") || strings.Contains(p, "foo-1.0.tar.gz") {
		t.Fatalf("page after deletes:\n%s", p)
	}
	doc, _, err := e.h.loadProject(ctx, "foo")
	if err != nil || len(doc.Files) != 1 {
		t.Fatalf("project after deletes: %+v, %v", doc, err)
	}
	object := doc.Files[0].Object
	want := []string{fileKey("foo", object), metadataKey("foo", object), "pypi/index/foo", "pypi/projects/foo/project.json"}
	if got := e.keys(ctx); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("keys after deletes: %v, want %v", got, want)
	}
	// As on PyPI, a deleted file name cannot be uploaded again, also not
	// with other content; a new version can.
	d := dist{name: "foo", version: "2.0"}
	other := dist{name: "foo", version: "2.0", requires: []string{"x"}}
	for _, re := range []struct {
		content []byte
		fields  map[string]string
	}{
		{d.sdist(t), nil},
		{other.sdist(t), nil},
		{other.sdist(t), map[string]string{"name": ""}}, // refused by the project document, after the file is read
	} {
		r := e.upload(ctx, d, d.sdistName(), re.content, re.fields)
		if r.status != 400 || !strings.Contains(r.body, "This filename has already been used") {
			t.Fatalf("re-upload after delete: %d %s", r.status, r.body)
		}
	}
	if got := e.keys(ctx); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("keys after refused re-upload: %v", got)
	}
	if r := e.upload(ctx, dist{name: "foo", version: "2.1"}, "foo-2.1.tar.gz", dist{name: "foo", version: "2.1"}.sdist(t), nil); r.status != 200 {
		t.Fatalf("upload of a new version after delete: %d %s", r.status, r.body)
	}
}

// TestDeleteLastFile deletes every file of a project: it is gone from the
// index, its pages and its JSON API, its file names stay taken, and a new
// version brings it back.
func TestDeleteLastFile(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, true)
	foo, bar := dist{name: "foo", version: "1.0"}, dist{name: "bar", version: "1.0"}
	e.mustUpload(ctx, foo)
	e.mustUpload(ctx, bar)
	if r := e.do(ctx, request{method: "DELETE", path: "/packages/foo/" + foo.wheelName(), token: adminToken}); r.status != 200 {
		t.Fatalf("delete wheel: %d %s", r.status, r.body)
	}
	if r := e.do(ctx, request{method: "DELETE", path: "/foo/1.0", token: adminToken}); r.status != 200 {
		t.Fatalf("delete release: %d %s", r.status, r.body)
	}
	e.exchanges(t, []exchange{
		{"index html", request{method: "GET", path: "/simple/"}, 200, `<a href="bar/">bar</a><br />` + "\n  </body>"},
		{"index json", request{method: "GET", path: "/simple/", header: map[string]string{"Accept": ContentTypeJSON}}, 200, `"projects":[{"name":"bar"}]`},
		{"project page", request{method: "GET", path: "/simple/foo/"}, 404, ""},
		{"project page json", request{method: "GET", path: "/simple/foo/", header: map[string]string{"Accept": ContentTypeJSON}}, 404, ""},
		{"json api", request{method: "GET", path: "/foo/json"}, 404, ""},
		{"json api release", request{method: "GET", path: "/foo/1.0/json"}, 404, ""},
		{"download", request{method: "GET", path: "/packages/foo/" + foo.sdistName()}, 404, ""},
		{"delete again", request{method: "DELETE", path: "/foo/1.0", token: adminToken}, 404, ""},
		{"yank", request{method: "PUT", path: "/foo/1.0/yank", token: adminToken}, 404, ""},
		{"re-upload", uploadRequest(t, foo, adminToken), 400, "This filename has already been used"},
	}, nil)
	e.mustUpload(ctx, dist{name: "foo", version: "1.1"})
	r := e.do(ctx, request{method: "GET", path: "/simple/foo/", header: map[string]string{"Accept": ContentTypeJSON}})
	if r.status != 200 || !strings.Contains(r.body, `"versions":["1.1"]`) || strings.Contains(r.body, "foo-1.0") {
		t.Fatalf("page after a new version: %d %s", r.status, r.body)
	}
	if r := e.do(ctx, request{method: "GET", path: "/simple/"}); !strings.Contains(r.body, `<a href="foo/">`) {
		t.Fatalf("index after a new version: %s", r.body)
	}
}

// TestAuth checks who may read and write.
func TestAuth(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, false, core.UserConfig{Username: "alice", Password: "alice-pw", Scopes: []string{"pypi:package:*:*"}})
	e.mustUpload(ctx, dist{name: "foo", version: "1.0"})
	e.mustUpload(ctx, dist{name: "other", version: "1.0"})
	foo := dist{name: "foo", version: "3.0"}
	other := dist{name: "other", version: "3.0"}
	e.exchanges(t, []exchange{
		{"anonymous index", request{method: "GET", path: "/simple/"}, 401, ""},
		{"anonymous project", request{method: "GET", path: "/simple/foo/"}, 401, ""},
		{"anonymous download", request{method: "GET", path: "/packages/foo/foo-1.0.tar.gz"}, 401, ""},
		{"bad token", request{method: "GET", path: "/simple/foo/", token: "nope"}, 401, ""},
		{"reader reads foo", request{method: "GET", path: "/simple/foo/", token: fooReader}, 200, "foo-1.0"},
		{"reader lists only foo", request{method: "GET", path: "/simple/", token: fooReader}, 200, `<a href="foo/">foo</a><br />` + "\n  </body>"},
		{"reader may not read other", request{method: "GET", path: "/simple/other/", token: fooReader}, 403, ""},
		{"reader may not yank", request{method: "PUT", path: "/foo/1.0/yank", token: fooReader}, 403, ""},
		{"anonymous upload", uploadRequest(t, foo, ""), 401, ""},
		{"reader upload", uploadRequest(t, foo, fooReader), 403, ""},
		{"writer upload other", uploadRequest(t, other, fooWriter), 403, ""},
		{"writer upload foo", uploadRequest(t, foo, fooWriter), 200, ""},
	}, func(t *testing.T, r response) {
		if r.status == 401 && r.header.Get("WWW-Authenticate") != `Basic realm="pypi"` {
			t.Fatalf("401 without WWW-Authenticate: %v", r.header)
		}
	})
	t.Run("password login", func(t *testing.T) {
		body, ct := uploadBody(t, other, other.wheelName(), other.wheel(t), nil)
		up := request{method: http.MethodPost, path: "/", user: "alice", pass: "alice-pw",
			header: map[string]string{"Content-Type": ct}, body: body}
		if r := e.do(ctx, up); r.status != 200 {
			t.Fatalf("upload as alice: %d %s", r.status, r.body)
		}
		up.pass = "wrong"
		if r := e.do(ctx, up); r.status != 401 {
			t.Fatalf("upload with a wrong password: %d %s", r.status, r.body)
		}
	})
}

func uploadRequest(t testing.TB, d dist, token string) request {
	body, ct := uploadBody(t, d, d.sdistName(), d.sdist(t), nil)
	return request{method: http.MethodPost, path: "/", token: token, header: map[string]string{"Content-Type": ct}, body: body}
}

// cancelAfterPut is a memory backend that cancels a context once a put of
// a key with the given suffix succeeded, and whose deletes fail under a
// cancelled context, as a remote store's do.
type cancelAfterPut struct {
	*memory.Backend
	suffix string
	cancel context.CancelFunc
}

func (c *cancelAfterPut) Put(ctx context.Context, key string, r io.Reader, size int64, opts core.PutOptions) (core.ObjectInfo, error) {
	info, err := c.Backend.Put(ctx, key, r, size, opts)
	if err == nil && c.cancel != nil && strings.HasSuffix(key, c.suffix) {
		c.cancel()
	}
	return info, err
}

func (c *cancelAfterPut) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return c.Backend.Delete(ctx, key)
}

// TestDeleteOutlivesTheClient deletes a release with a client that goes
// away once the project document says the files are gone: their objects
// are deleted all the same, so the project leaves /simple/.
func TestDeleteOutlivesTheClient(t *testing.T) {
	backend := &cancelAfterPut{Backend: memory.New(), suffix: "/project.json"}
	e := newTestEnvOn(t, backend, true)
	foo := dist{name: "foo", version: "1.0"}
	e.mustUpload(t.Context(), foo)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	backend.cancel = cancel
	e.do(ctx, request{method: "DELETE", path: "/foo/1.0", token: adminToken})
	backend.cancel = nil
	for _, k := range e.keys(t.Context()) {
		if strings.HasPrefix(k, filesPrefix) {
			t.Errorf("left behind: %s", k)
		}
	}
	if r := e.do(t.Context(), request{method: "GET", path: "/simple/"}); strings.Contains(r.body, "foo") {
		t.Errorf("the index still lists foo:\n%s", r.body)
	}
}
