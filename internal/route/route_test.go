package route

import (
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/smartregistry/smartregistry/core"
)

func TestMatch(t *testing.T) {
	var tab Table[string]
	tab.Add(http.MethodGet, "/v2/", "base")
	tab.Add(http.MethodGet, "/v2/{name...}/manifests/{ref}", "getManifest")
	tab.Add(http.MethodPut, "/v2/{name...}/manifests/{ref}", "putManifest")
	tab.Add(http.MethodGet, "/v2/{name...}/tags/list", "tags")
	tab.Add(http.MethodGet, "/p2/{vendor}/{package}.json", "composer")
	tab.Add(http.MethodGet, "/{pkg}/-/{file}", "tarball")
	tab.Add(http.MethodGet, "/{pkg}", "packument")
	tab.Add(http.MethodGet, "/{scope}/{pkg}", "scopedPackument")

	tests := []struct {
		method, path string
		want         string
		params       Params
		err          error
		allow        []string
	}{
		{"GET", "/v2/", "base", Params{}, nil, nil},
		{"HEAD", "/v2/", "base", Params{}, nil, nil},
		{"GET", "/v2/team/sub/app/manifests/latest", "getManifest", Params{"name": "team/sub/app", "ref": "latest"}, nil, nil},
		{"PUT", "/v2/app/manifests/sha256:abc", "putManifest", Params{"name": "app", "ref": "sha256:abc"}, nil, nil},
		{"DELETE", "/v2/app/manifests/1", "", nil, nil, []string{"GET", "HEAD", "PUT"}},
		{"GET", "/v2/a/manifests/b/tags/list", "tags", Params{"name": "a/manifests/b"}, nil, nil},
		{"GET", "/v2/manifests/x", "", nil, ErrNotFound, nil},
		{"GET", "/p2/acme/lib.json", "composer", Params{"vendor": "acme", "package": "lib"}, nil, nil},
		{"GET", "/p2/acme/.json", "", nil, ErrNotFound, nil},
		{"GET", "/@scope%2fpkg", "packument", Params{"pkg": "@scope/pkg"}, nil, nil},
		{"GET", "/@scope/pkg", "scopedPackument", Params{"scope": "@scope", "pkg": "pkg"}, nil, nil},
		{"GET", "/left-pad/-/left-pad-1.0.0.tgz", "tarball", Params{"pkg": "left-pad", "file": "left-pad-1.0.0.tgz"}, nil, nil},
		{"GET", "/a%zz", "", nil, ErrNotFound, nil},
		{"GET", "", "", nil, ErrNotFound, nil},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			h, params, err := tab.Match(tt.method, tt.path)
			if tt.allow != nil {
				var mna *MethodNotAllowedError
				if !errors.As(err, &mna) || !reflect.DeepEqual(mna.Allow, tt.allow) {
					t.Fatalf("got %v, want 405 with Allow %v", err, tt.allow)
				}
				return
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if h != tt.want || (tt.err == nil && !reflect.DeepEqual(params, tt.params)) {
				t.Fatalf("got %q %v, want %q %v", h, params, tt.want, tt.params)
			}
		})
	}
}

// TestLookup checks the core categories of Lookup's refusals and the
// Allow header SetAllow derives from them.
func TestLookup(t *testing.T) {
	var tab Table[string]
	tab.Add(http.MethodGet, "/{pkg}", "get")
	tab.Add(http.MethodPut, "/{pkg}", "put")
	tests := []struct {
		method, path string
		want         string
		err          error
		allow        string
	}{
		{"PUT", "/a", "put", nil, ""},
		{"DELETE", "/a", "", core.ErrMethodNotAllowed, "GET, HEAD, PUT"},
		{"GET", "/a/b", "", core.ErrNotFound, ""},
	}
	for _, tt := range tests {
		h, _, err := tab.Lookup(tt.method, tt.path)
		if h != tt.want || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("%s %s: %q, %v; want %q, %v", tt.method, tt.path, h, err, tt.want, tt.err)
		}
		header := http.Header{}
		SetAllow(header, err)
		if got := header.Get("Allow"); got != tt.allow {
			t.Errorf("%s %s: Allow %q, want %q", tt.method, tt.path, got, tt.allow)
		}
	}
}

func TestAddPanicsOnBadPattern(t *testing.T) {
	for _, p := range []string{"no-slash", "/{a...}/{b...}", "/x{a...}", "/{}", "/{a}{b}"} {
		t.Run(p, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatalf("Add(%q) did not panic", p)
				}
			}()
			var tab Table[int]
			tab.Add("GET", p, 1)
		})
	}
}
