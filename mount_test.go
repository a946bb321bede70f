package smartregistry

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// TestMountUnderPrefix: the registry beside an app's own routes, with the
// prefix in its base paths or removed by http.StripPrefix; either way the
// handler sees the path below its base path and a BaseURL with the prefix.
func TestMountUnderPrefix(t *testing.T) {
	fakes := func(npmBase, ociBase string) []fakeMount {
		return []fakeMount{
			{base: npmBase, h: &fakeHandler{proto: core.ProtocolNPM}},
			{base: ociBase, h: &fakeHandler{proto: core.ProtocolOCI}},
		}
	}
	prefixed := newFakeRegistry(t, Config{}, fakes("/registry/npm", "/registry/oci")...)
	stripped := newFakeRegistry(t, Config{}, fakes("/npm", "/oci")...)
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	mux.Handle("/registry/", prefixed)
	mux.Handle("/v2/", prefixed)
	mux.Handle("/strip/", http.StripPrefix("/strip", stripped))
	mux.Handle("/strip-slash/", http.StripPrefix("/strip-slash/", stripped))
	mux.Handle("/registry2/", http.StripPrefix("/registry2", newFakeRegistry(t, Config{}, fakes("/registry2/npm", "/registry2/oci")...)))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	host := "http://" + strings.TrimPrefix(srv.URL, "http://")

	tests := []struct {
		name, path       string
		handler, rest    string // rest "": the app answered
		baseURL, message string
	}{
		{"app route", "/healthz", "", "", "", "ok"},
		{"base path with prefix", "/registry/npm/left-pad", "npm", "/left-pad", host + "/registry/npm", ""},
		{"OCI at the root", "/v2/team/app/tags/list", "oci", "/v2/team/app/tags/list", host + "/registry/oci", ""},
		{"StripPrefix", "/strip/npm/left-pad", "npm", "/left-pad", host + "/strip/npm", ""},
		{"StripPrefix keeps escapes", "/strip/npm/@team%2fapp?write=true", "npm", "/@team%2fapp", host + "/strip/npm", ""},
		{"StripPrefix with a trailing slash", "/strip-slash/npm/left-pad", "npm", "/left-pad", host + "/strip-slash/npm", ""},
		{"StripPrefix, OCI below its base", "/strip/oci/v2/", "oci", "/v2/", host + "/strip/oci", ""},
		{"StripPrefix and base paths with the prefix", "/registry2/npm/left-pad", "npm", "/left-pad", host + "/registry2/npm", ""},
		{"unrouted names the base paths", "/registry/maven/x", "", "", "",
			`mounted base paths: /registry/npm (npm), /registry/oci (oci), /v2 (oci)`},
		{"unrouted behind StripPrefix", "/strip/maven/x", "", "", "", `mounted at \"/maven/x\"; mounted base paths: /npm (npm), /oci (oci), /v2 (oci)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := srv.Client().Get(srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if tt.handler == "" {
				if !strings.Contains(string(body), tt.message) {
					t.Errorf("%d %s, want %s", resp.StatusCode, body, tt.message)
				}
				return
			}
			var e echo
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("%d %s: %v", resp.StatusCode, body, err)
			}
			if e.Handler != tt.handler || e.Path != tt.rest || e.BaseURL != tt.baseURL {
				t.Errorf("reached %s with %q, BaseURL %q; want %s with %q, %q", e.Handler, e.Path, e.BaseURL,
					tt.handler, tt.rest, tt.baseURL)
			}
		})
	}
}

// TestRequestPath: the prefix a wrapper stripped is what the original
// request path has before the path left to route.
func TestRequestPath(t *testing.T) {
	tests := []struct {
		requestURI, urlPath, rawPath string
		path, prefix                 string
	}{
		{"/npm/x", "/npm/x", "", "/npm/x", ""},
		{"/a/b/npm/x?q=1", "/npm/x", "", "/npm/x", "/a/b"},
		{"/p/npm/@s%2fx", "/npm/@s/x", "/npm/@s%2fx", "/npm/@s%2fx", "/p"},
		{"/p/npm/x", "npm/x", "", "/npm/x", "/p"},
		{"http://h.example/p/npm/x", "/npm/x", "", "/npm/x", "/p"},
		{"/elsewhere", "/npm/x", "", "/npm/x", ""}, // rewritten, not stripped
		{"", "/npm/x", "", "/npm/x", ""},           // built by hand, no RequestURI
	}
	for _, tt := range tests {
		t.Run(tt.requestURI, func(t *testing.T) {
			hr := httptest.NewRequest(http.MethodGet, "/", nil)
			hr.RequestURI, hr.URL.Path, hr.URL.RawPath = tt.requestURI, tt.urlPath, tt.rawPath
			if path, prefix := requestPath(hr); path != tt.path || prefix != tt.prefix {
				t.Errorf("requestPath = %q, %q; want %q, %q", path, prefix, tt.path, tt.prefix)
			}
		})
	}
}

func TestHandleRequestRefusesQueryInPath(t *testing.T) {
	r := newFakeRegistry(t, Config{}, fakeMount{base: "/npm", h: &fakeHandler{proto: core.ProtocolNPM}})
	tests := []struct {
		req    *core.RequestContext
		status int
		body   string
	}{
		{&core.RequestContext{Method: http.MethodGet, Path: "/npm/x?write=true"}, http.StatusBadRequest, `put the query in Query`},
		{core.NewRequest(http.MethodGet, "/npm/x?write=true", nil), http.StatusOK, `"path":"/x"`},
	}
	for _, tt := range tests {
		resp := r.HandleRequest(t.Context(), tt.req)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Status != tt.status || !strings.Contains(string(body), tt.body) {
			t.Errorf("%s: %d %s, want %d with %s", tt.req.Path, resp.Status, body, tt.status, tt.body)
		}
	}
}

// TestMountUnderPrefixRealHandlers: the links the real handlers generate
// (a PyPI redirect, the OCI token realm) carry the prefix, whichever way
// the registry is mounted.
func TestMountUnderPrefixRealHandlers(t *testing.T) {
	build := func(base string) *Registry {
		cfg := Config{Storage: StorageConfig{Backend: memory.New()}, Logger: slog.New(slog.DiscardHandler)}
		cfg.Auth.AnonymousRead = []core.Protocol{core.ProtocolPyPI}
		cfg.PyPI.Enabled, cfg.PyPI.BasePath = true, base+"/pypi"
		cfg.OCI.Enabled, cfg.OCI.BasePath = true, base+"/oci"
		r, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Close(context.Background()) })
		return r
	}
	mux := http.NewServeMux()
	mux.Handle("/registry/", build("/registry"))
	mux.Handle("/strip/", http.StripPrefix("/strip", build("")))
	tests := []struct {
		path, header, want string
	}{
		{"/registry/pypi/simple/Foo_Bar/", "Location", "http://r.example/registry/pypi/simple/foo-bar/"},
		{"/strip/pypi/simple/Foo_Bar/", "Location", "http://r.example/strip/pypi/simple/foo-bar/"},
		{"/registry/oci/v2/", "WWW-Authenticate", `Bearer realm="http://r.example/registry/oci/token"`},
		{"/strip/oci/v2/", "WWW-Authenticate", `Bearer realm="http://r.example/strip/oci/token"`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://r.example"+tt.path, nil))
			if got := rec.Header().Get(tt.header); !strings.HasPrefix(got, tt.want) {
				t.Errorf("%d %s: %q, want %q", rec.Code, tt.header, got, tt.want)
			}
		})
	}
}
