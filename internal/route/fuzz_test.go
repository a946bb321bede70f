package route

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// FuzzMatch matches arbitrary methods and paths against a table shaped
// like the protocols' (literal segments, {name} wildcards with prefix and
// suffix, a multi-segment {name...} matched from the end). Property: no
// panic; a match has the pattern's parameters, none empty, and a
// parameter that is not multi-segment holds no "/" that was not escaped in
// the path; a refusal is ErrNotFound or a 405 with a non-empty Allow.
func FuzzMatch(f *testing.F) {
	var t Table[string]
	t.Add(http.MethodGet, "/v2/", "base")
	t.Add(http.MethodGet, "/v2/{name...}/manifests/{reference}", "manifest")
	t.Add(http.MethodPut, "/v2/{name...}/manifests/{reference}", "put manifest")
	t.Add(http.MethodGet, "/v2/{name...}/blobs/{digest}", "blob")
	t.Add(http.MethodGet, "/{package}/-/{file}.tgz", "tarball")
	t.Add(http.MethodGet, "/simple/{project}/", "simple")
	t.Add(http.MethodDelete, "/{project}/{version}", "delete")
	want := map[string][]string{
		"base": nil, "manifest": {"name", "reference"}, "put manifest": {"name", "reference"}, "blob": {"name", "digest"},
		"tarball": {"package", "file"}, "simple": {"project"}, "delete": {"project", "version"},
	}
	for _, s := range []struct{ method, path string }{
		{"GET", "/v2/"}, {"GET", "/v2/a/b/c/manifests/latest"}, {"HEAD", "/v2/a/blobs/sha256:00"},
		{"GET", "/left-pad/-/left-pad-1.0.0.tgz"}, {"GET", "/@scope%2fpkg/-/pkg-1.0.0.tgz"}, {"GET", "/simple/foo/"},
		{"DELETE", "/foo/1.0"}, {"POST", "/v2/x/manifests/y"}, {"GET", "/v2/%2e%2e/manifests/x"}, {"GET", "//"},
		{"GET", "/v2//manifests/x"}, {"GET", "/%zz/-/a.tgz"}, {"GET", ""},
	} {
		f.Add(s.method, s.path)
	}
	f.Fuzz(func(tt *testing.T, method, path string) {
		h, params, err := t.Match(method, path)
		if err != nil {
			var mna *MethodNotAllowedError
			if errors.As(err, &mna) {
				if len(mna.Allow) == 0 {
					tt.Fatalf("405 without Allow for %s %q", method, path)
				}
			} else if !errors.Is(err, ErrNotFound) {
				tt.Fatalf("unexpected error %v", err)
			}
			return
		}
		names, ok := want[h]
		if !ok || len(params) != len(names) {
			tt.Fatalf("%s %q matched %q with %v", method, path, h, params)
		}
		for _, n := range names {
			v, ok := params[n]
			if !ok || v == "" {
				tt.Fatalf("%s %q: parameter %s is %q", method, path, n, v)
			}
			if n != "name" && strings.Count(v, "/") > strings.Count(path, "%2f")+strings.Count(path, "%2F") {
				tt.Fatalf("%s %q: single-segment parameter %s = %q has a slash", method, path, n, v)
			}
		}
	})
}
