package rubygems

import (
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestCompactIndex pushes versions, a prerelease, a platform variant and a
// dependent gem, and reads /versions, /info and /names back, byte for
// byte, with their ETag, Repr-Digest and ranges.
func TestCompactIndex(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t)
	for _, g := range []fixture{
		{name: "foo", version: "1.0.0"},
		{name: "foo", version: "1.1.0"},
		{name: "foo", version: "2.0.0.pre"},
		{name: "foo", version: "1.1.0", platform: "java"},
		{name: "bar", version: "1.0.0", deps: map[string]string{"foo": ">= 1.0", "baz": "~> 2.1"}},
	} {
		e.mustPush(ctx, g)
	}
	sum := func(g fixture) string { s := sha256.Sum256(g.gem(t)); return hex.EncodeToString(s[:]) }
	info := e.get(ctx, "/info/foo")
	wantInfo := "---\n" +
		"1.0.0 |checksum:" + sum(fixture{name: "foo", version: "1.0.0"}) + ",ruby:>= 2.5\n" +
		"1.1.0 |checksum:" + sum(fixture{name: "foo", version: "1.1.0"}) + ",ruby:>= 2.5\n" +
		"2.0.0.pre |checksum:" + sum(fixture{name: "foo", version: "2.0.0.pre"}) + ",ruby:>= 2.5\n" +
		"1.1.0-java |checksum:" + sum(fixture{name: "foo", version: "1.1.0", platform: "java"}) + ",ruby:>= 2.5\n"
	if info.status != 200 || info.body != wantInfo {
		t.Fatalf("/info/foo: %d\n%s\nwant\n%s", info.status, info.body, wantInfo)
	}
	checkIndexHeaders(t, info)
	bar := e.get(ctx, "/info/bar")
	if !strings.HasPrefix(bar.body, "---\n1.0.0 baz:~> 2.1,foo:>= 1.0|checksum:") {
		t.Errorf("/info/bar:\n%s", bar.body)
	}
	md5hex := func(s string) string { m := md5.Sum([]byte(s)); return hex.EncodeToString(m[:]) }

	versions := e.get(ctx, "/versions")
	head, lines, ok := strings.Cut(versions.body, "\n---\n")
	if versions.status != 200 || !ok || !strings.HasPrefix(head, "created_at: ") {
		t.Fatalf("/versions: %d\n%s", versions.status, versions.body)
	}
	// One line per push, each with the info file's MD5 at that moment.
	wantLines := []string{"foo 1.0.0 ", "foo 1.1.0 ", "foo 2.0.0.pre ", "foo 1.1.0-java " + md5hex(info.body), "bar 1.0.0 " + md5hex(bar.body)}
	got := strings.Split(strings.TrimSuffix(lines, "\n"), "\n")
	if len(got) != len(wantLines) {
		t.Fatalf("/versions lines:\n%s", lines)
	}
	for i, w := range wantLines {
		if !strings.HasPrefix(got[i], w) || len(got[i]) != len(strings.SplitN(w, " ", 2)[0])+1+len(strings.Fields(got[i])[1])+1+32 {
			t.Errorf("line %d: %q, want %q…", i, got[i], w)
		}
	}
	checkIndexHeaders(t, versions)
	names := e.get(ctx, "/names")
	if names.body != "---\nbar\nfoo\n" {
		t.Errorf("/names: %q", names.body)
	}
	checkIndexHeaders(t, names)

	// Range and If-None-Match, as bundler sends them.
	n := len(versions.body) - 1
	r := e.do(ctx, request{path: "/versions", token: adminToken, header: map[string]string{"Range": fmt.Sprintf("bytes=%d-", n)}})
	if r.status != http.StatusPartialContent || r.body != versions.body[n:] ||
		r.header.Get("Content-Range") != fmt.Sprintf("bytes %d-%d/%d", n, len(versions.body)-1, len(versions.body)) {
		t.Errorf("ranged /versions: %d %q %v", r.status, r.body, r.header)
	}
	if r.header.Get("ETag") != versions.header.Get("ETag") {
		t.Errorf("a 206 names the whole file's ETag, got %q", r.header.Get("ETag"))
	}
	r = e.do(ctx, request{path: "/versions", token: adminToken, header: map[string]string{"Range": "bytes=99999-"}})
	if r.status != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("range past the end: %d", r.status)
	}
	r = e.do(ctx, request{path: "/versions", token: adminToken, header: map[string]string{
		"Range": fmt.Sprintf("bytes=%d-", n), "If-None-Match": versions.header.Get("ETag")}})
	if r.status != http.StatusNotModified {
		t.Errorf("If-None-Match with the current ETag: %d", r.status)
	}

	// A yank appends "-<version>"; the first bytes stay; the version
	// leaves /info and downloads; an unyank brings it back.
	r = e.do(ctx, request{method: http.MethodDelete, path: "/api/v1/gems/yank", token: adminToken,
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: []byte("gem_name=foo&version=1.0.0")})
	if r.status != 200 || !strings.Contains(r.body, "Successfully deleted gem: foo (1.0.0)") {
		t.Fatalf("yank: %d %s", r.status, r.body)
	}
	after := e.get(ctx, "/versions")
	if !strings.HasPrefix(after.body, versions.body) {
		t.Fatalf("/versions changed its first bytes after a yank:\n%s", after.body)
	}
	info2 := e.get(ctx, "/info/foo")
	if tail := after.body[len(versions.body):]; tail != "foo -1.0.0 "+md5hex(info2.body)+"\n" {
		t.Errorf("after a yank /versions gained %q", tail)
	}
	if strings.Contains(info2.body, "\n1.0.0 ") {
		t.Errorf("/info lists a yanked version:\n%s", info2.body)
	}
	if r := e.get(ctx, "/gems/foo-1.0.0.gem"); r.status != 404 {
		t.Errorf("yanked gem downloads: %d", r.status)
	}
	if r := e.push(ctx, fixture{name: "foo", version: "1.0.0"}.gem(t)); r.status != http.StatusConflict ||
		r.body != "Repushing of gem versions is not allowed.\n" {
		t.Errorf("re-push of a yanked version: %d %q", r.status, r.body)
	}
	r = e.do(ctx, request{method: http.MethodPut, path: "/api/v1/gems/unyank", token: adminToken, body: []byte("gem_name=foo&version=1.0.0")})
	if r.status != 200 {
		t.Fatalf("unyank: %d %s", r.status, r.body)
	}
	if r := e.get(ctx, "/gems/foo-1.0.0.gem"); r.status != 200 || r.body != string(fixture{name: "foo", version: "1.0.0"}.gem(t)) {
		t.Errorf("unyanked gem: %d", r.status)
	}
	final := e.get(ctx, "/versions")
	if !strings.HasSuffix(final.body, "foo 1.0.0 "+md5hex(e.get(ctx, "/info/foo").body)+"\n") {
		t.Errorf("after unyank:\n%s", final.body)
	}
	// An identical push again succeeds and adds nothing.
	e.mustPush(ctx, fixture{name: "foo", version: "1.1.0"})
	if again := e.get(ctx, "/versions"); again.body != final.body {
		t.Errorf("a retried push changed /versions:\n%s", again.body)
	}
}

// checkIndexHeaders checks what bundler relies on: the ETag is the quoted
// MD5 of the body, Repr-Digest its SHA-256, ranges are served.
func checkIndexHeaders(t *testing.T, r response) {
	t.Helper()
	m := md5.Sum([]byte(r.body))
	s := sha256.Sum256([]byte(r.body))
	if got := r.header.Get("ETag"); got != `"`+hex.EncodeToString(m[:])+`"` {
		t.Errorf("ETag %s", got)
	}
	if got := r.header.Get("Repr-Digest"); got != "sha-256=:"+base64.StdEncoding.EncodeToString(s[:])+":" {
		t.Errorf("Repr-Digest %s", got)
	}
	if r.header.Get("Accept-Ranges") != "bytes" {
		t.Errorf("no Accept-Ranges")
	}
}

// TestLegacyIndexAndAPI reads the Marshal index files, a quick gemspec, a
// download and the JSON API.
func TestLegacyIndexAndAPI(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t)
	for _, g := range []fixture{
		{name: "foo", version: "1.0.0"}, {name: "foo", version: "1.10.0"}, {name: "foo", version: "1.9.0"},
		{name: "foo", version: "2.0.0.pre"}, {name: "foo", version: "1.9.0", platform: "x86_64-linux"},
		{name: "a-b", version: "0.1.0", deps: map[string]string{"foo": ">= 1.0"}},
	} {
		e.mustPush(ctx, g)
	}
	tuples := func(ts ...[3]string) string {
		list := make([]any, len(ts))
		for i, t := range ts {
			list[i] = []any{t[0], gemVersion(t[1]), t[2]}
		}
		b, _ := marshalRuby(list)
		return string(b)
	}
	for _, tt := range []struct {
		path string
		want string
	}{
		{"/specs.4.8.gz", tuples([3]string{"a-b", "0.1.0", "ruby"}, [3]string{"foo", "1.0.0", "ruby"}, [3]string{"foo", "1.9.0", "ruby"},
			[3]string{"foo", "1.9.0", "x86_64-linux"}, [3]string{"foo", "1.10.0", "ruby"})},
		{"/latest_specs.4.8.gz", tuples([3]string{"a-b", "0.1.0", "ruby"}, [3]string{"foo", "1.9.0", "x86_64-linux"}, [3]string{"foo", "1.10.0", "ruby"})},
		{"/prerelease_specs.4.8.gz", tuples([3]string{"foo", "2.0.0.pre", "ruby"})},
	} {
		r := e.get(ctx, tt.path)
		zr, err := gzip.NewReader(strings.NewReader(r.body))
		if err != nil {
			t.Fatalf("%s: %d %v", tt.path, r.status, err)
		}
		got, _ := io.ReadAll(zr)
		if !bytes.Equal(got, []byte(tt.want)) {
			t.Errorf("%s:\n%x\nwant\n%x", tt.path, got, tt.want)
		}
	}
	for _, tt := range []struct {
		path   string
		status int
	}{
		{"/quick/Marshal.4.8/a-b-0.1.0.gemspec.rz", 200},
		{"/quick/Marshal.4.8/foo-1.9.0-x86_64-linux.gemspec.rz", 200},
		{"/quick/Marshal.4.8/foo-7.0.gemspec.rz", 404},
		{"/gems/a-b-0.1.0.gem", 200},
		{"/gems/foo-1.9.0-x86_64-linux.gem", 200},
		{"/gems/foo-1.9.0-java.gem", 404},
		{"/gems/..%2Ffoo-1.0.0.gem", 404},
		{"/api/v1/versions/foo.json", 200},
		{"/api/v1/gems/foo.json", 200},
		{"/api/v1/gems/nope.json", 404},
	} {
		if r := e.get(ctx, tt.path); r.status != tt.status {
			t.Errorf("%s: %d %s, want %d", tt.path, r.status, r.body, tt.status)
		}
	}
	var vs []apiVersion
	if err := json.Unmarshal([]byte(e.get(ctx, "/api/v1/versions/foo.json").body), &vs); err != nil || len(vs) != 5 ||
		vs[0].Number != "2.0.0.pre" || !vs[0].Prerelease || vs[len(vs)-1].Number != "1.0.0" {
		t.Errorf("versions.json: %v %+v", err, vs)
	}
	var info map[string]any
	if err := json.Unmarshal([]byte(e.get(ctx, "/api/v1/gems/a-b.json").body), &info); err != nil || info["version"] != "0.1.0" ||
		!strings.Contains(fmt.Sprint(info["dependencies"]), "foo") {
		t.Errorf("gems/a-b.json: %v %v", err, info)
	}
	if json.Unmarshal([]byte(e.get(ctx, "/api/v1/gems/foo.json").body), &info); info["version"] != "1.10.0" {
		t.Errorf("latest of foo: %v", info["version"])
	}
}

// TestAuth checks who may do what: gem's bare key and bundler's Basic
// both identify; scopes are rubygems:gem:<name>:read|write|delete.
func TestAuth(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t)
	foo := fixture{name: "foo", version: "1.0.0"}.gem(t)
	yank := []byte("gem_name=foo&version=1.0.0")
	for _, tt := range []struct {
		name   string
		req    request
		status int
	}{
		{"push without a key", request{method: "POST", path: "/api/v1/gems", body: foo}, 401},
		{"push with a wrong key", request{method: "POST", path: "/api/v1/gems", token: "nope", body: foo}, 401},
		{"push with a read scope", request{method: "POST", path: "/api/v1/gems", token: fooReader, body: foo}, 403},
		{"push of another gem", request{method: "POST", path: "/api/v1/gems", token: fooWriter, body: fixture{name: "other", version: "1.0.0"}.gem(t)}, 403},
		{"push with the write scope", request{method: "POST", path: "/api/v1/gems", token: fooWriter, body: foo}, 200},
		{"anonymous read", request{path: "/info/foo"}, 401},
		{"anonymous index", request{path: "/versions"}, 401},
		{"read with Basic", request{path: "/info/foo", basic: [2]string{"__token__", fooReader}}, 200},
		{"index with Basic", request{path: "/versions", basic: [2]string{"x", fooReader}}, 200},
		{"download with the key", request{path: "/gems/foo-1.0.0.gem", token: fooReader}, 200},
		{"yank with a write scope", request{method: "DELETE", path: "/api/v1/gems/yank", token: fooWriter, body: yank}, 403},
		{"yank with the delete scope", request{method: "DELETE", path: "/api/v1/gems/yank", token: fooYanker, body: yank}, 200},
		{"unyank with the write scope", request{method: "PUT", path: "/api/v1/gems/unyank", token: fooWriter, body: yank}, 200},
		{"yank of a version that is not there", request{method: "DELETE", path: "/api/v1/gems/yank", token: adminToken, body: []byte("gem_name=foo&version=9.9")}, 404},
		{"wrong method", request{method: "PUT", path: "/versions", token: adminToken}, 405},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(ctx, tt.req)
			if r.status != tt.status {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tt.status)
			}
			if r.status == 401 && r.header.Get("WWW-Authenticate") != `Basic realm="rubygems"` {
				t.Errorf("401 without WWW-Authenticate")
			}
		})
	}
	anon := newTestEnvOn(t, e.backend, true, Config{})
	if r := anon.do(ctx, request{path: "/info/foo"}); r.status != 200 {
		t.Errorf("anonymous read when allowed: %d", r.status)
	}
}
