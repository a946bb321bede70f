package oci

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestUpstreamRepository(t *testing.T) {
	for _, tt := range []struct{ host, name, want string }{
		{"registry-1.docker.io", "alpine", "library/alpine"},
		{"docker.io", "alpine", "library/alpine"},
		{"index.docker.io", "alpine", "library/alpine"},
		{"Registry-1.Docker.io", "alpine", "library/alpine"},
		{"registry-1.docker.io", "library/alpine", "library/alpine"},
		{"registry-1.docker.io", "bitnami/redis", "bitnami/redis"},
		{"ghcr.io", "alpine", "alpine"},
		{"127.0.0.1:5000", "alpine", "alpine"},
		{"docker.io.example.com", "alpine", "alpine"},
	} {
		if got := upstreamRepository(tt.host, tt.name); got != tt.want {
			t.Errorf("upstreamRepository(%q, %q) = %q, want %q", tt.host, tt.name, got, tt.want)
		}
	}
}

func TestUpstreamURL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"https://registry-1.docker.io/v2/alpine/manifests/3", "https://registry-1.docker.io/v2/library/alpine/manifests/3"},
		{"https://docker.io/v2/alpine/blobs/sha256:ab", "https://registry-1.docker.io/v2/library/alpine/blobs/sha256:ab"},
		{"https://index.docker.io/v2/alpine/tags/list", "https://index.docker.io/v2/library/alpine/tags/list"},
		{"https://registry-1.docker.io/v2/grafana/grafana/manifests/1", "https://registry-1.docker.io/v2/grafana/grafana/manifests/1"},
		{"https://registry-1.docker.io/v2/", "https://registry-1.docker.io/v2/"},
		{"http://127.0.0.1:5000/v2/alpine/manifests/3", "http://127.0.0.1:5000/v2/alpine/manifests/3"},
	} {
		u, _ := url.Parse(tt.in)
		if got := upstreamURL(u).String(); got != tt.want {
			t.Errorf("upstreamURL(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestSplitAPIPath(t *testing.T) {
	for _, tt := range []struct{ path, base, name, rest string }{
		{"/v2/a/manifests/v1", "/v2/", "a", "manifests/v1"},
		{"/v2/a/b/c/blobs/sha256:ab", "/v2/", "a/b/c", "blobs/sha256:ab"},
		{"/v2/a/manifests/b/manifests/v1", "/v2/", "a/manifests/b", "manifests/v1"},
		{"/v2/a/manifests/b/blobs/sha256:ab", "/v2/", "a/manifests/b", "blobs/sha256:ab"},
		{"/v2/team/app/tags/list", "/v2/", "team/app", "tags/list"},
		{"/mirror/v2/team/app/tags/list", "/mirror/v2/", "team/app", "tags/list"},
		{"/v2/", "", "", ""},
		{"/token", "", "", ""},
	} {
		base, name, rest, _ := splitAPIPath(tt.path)
		if base != tt.base || name != tt.name || rest != tt.rest {
			t.Errorf("splitAPIPath(%q) = %q %q %q, want %q %q %q", tt.path, base, name, rest, tt.base, tt.name, tt.rest)
		}
	}
}

func TestParseChallenge(t *testing.T) {
	for _, tt := range []struct {
		in     string
		ok     bool
		scheme string
		params map[string]string
	}{
		{`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"`, true, "bearer",
			map[string]string{"realm": "https://auth.docker.io/token", "service": "registry.docker.io", "scope": "repository:library/alpine:pull"}},
		{`Bearer realm="http://h/token", service="s" , error="insufficient_scope"`, true, "bearer",
			map[string]string{"realm": "http://h/token", "service": "s", "error": "insufficient_scope"}},
		{`Basic realm="registry"`, true, "basic", map[string]string{"realm": "registry"}},
		{`Bearer realm=plain,service=x`, true, "bearer", map[string]string{"realm": "plain", "service": "x"}},
		{`Bearer realm="a \"quoted\" one"`, true, "bearer", map[string]string{"realm": `a "quoted" one`}},
		{`Bearer`, true, "bearer", map[string]string{}},
		{`Bearer realm="unterminated`, false, "", nil},
		{`Bearer realm`, false, "", nil},
		{``, false, "", nil},
	} {
		c, ok := parseChallenge(tt.in)
		if ok != tt.ok || (ok && (c.scheme != tt.scheme || !reflect.DeepEqual(c.params, tt.params))) {
			t.Errorf("parseChallenge(%q) = %+v %v, want %s %v %v", tt.in, c, ok, tt.scheme, tt.params, tt.ok)
		}
	}
}

// fakeHub is a registry that, like Docker Hub, answers every API request
// without a token of its realm with a Bearer challenge, and issues tokens
// at /token (to anyone, recording the credentials and scope asked with).
type fakeHub struct {
	*httptest.Server
	mu         sync.Mutex
	tokenAsks  []string // "<Authorization> <scope>"
	apiAuth    []string // the Authorization of each API request
	basicRealm bool     // challenge with Basic instead
}

func newFakeHub(t *testing.T) *fakeHub {
	f := &fakeHub{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if r.URL.Path == "/token" {
			f.tokenAsks = append(f.tokenAsks, r.Header.Get("Authorization")+" "+r.URL.Query().Get("scope"))
			json.NewEncoder(w).Encode(map[string]any{"token": "tok:" + r.URL.Query().Get("scope"), "expires_in": 300})
			return
		}
		f.apiAuth = append(f.apiAuth, r.Header.Get("Authorization"))
		_, name, _, _ := splitAPIPath(r.URL.Path)
		scope := "repository:" + name + ":pull"
		switch auth := r.Header.Get("Authorization"); {
		case f.basicRealm && auth == "Basic dTpw":
		case f.basicRealm:
			w.Header().Set("WWW-Authenticate", `Basic realm="fake"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		case auth != "Bearer tok:"+scope:
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+f.URL+`/token",service="fake",scope="`+scope+`"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.WriteString(w, "ok "+name)
	}))
	t.Cleanup(f.Close)
	return f
}

func TestRegistryTransportAnswersChallenges(t *testing.T) {
	for _, tt := range []struct {
		name, auth, realmAuth string
		basicRealm            bool
	}{
		{"anonymous", "", "", false},
		{"basic", "Basic dTpw", "Basic dTpw", false},
		{"static token", "Bearer static", "Bearer static", false},
		{"basic challenge", "Basic dTpw", "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hub := newFakeHub(t)
			hub.basicRealm = tt.basicRealm
			tr := newRegistryTransport(http.DefaultTransport)
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			tr.now = func() time.Time { return now }
			get := func(path string) string {
				req, _ := http.NewRequestWithContext(t.Context(), "GET", hub.URL+path, nil)
				if tt.auth != "" {
					req.Header.Set("Authorization", tt.auth)
				}
				resp, err := tr.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 200 {
					t.Fatalf("GET %s: %d", path, resp.StatusCode)
				}
				return string(body)
			}
			if got := get("/v2/team/app/manifests/v1"); got != "ok team/app" {
				t.Fatalf("got %q", got)
			}
			get("/v2/team/app/blobs/sha256:ab")
			get("/v2/other/manifests/v1")
			now = now.Add(10 * time.Minute) // the tokens expired
			get("/v2/team/app/manifests/v1")
			hub.mu.Lock()
			defer hub.mu.Unlock()
			if tt.basicRealm {
				// Asked for once, Basic goes at once with the next requests.
				if len(hub.tokenAsks) != 0 || len(hub.apiAuth) != 5 {
					t.Fatalf("token requests %v, API requests %q", hub.tokenAsks, hub.apiAuth)
				}
				return
			}
			want := []string{tt.realmAuth + " repository:team/app:pull", tt.realmAuth + " repository:other:pull",
				tt.realmAuth + " repository:team/app:pull"}
			if !reflect.DeepEqual(hub.tokenAsks, want) {
				t.Fatalf("token requests %q, want %q", hub.tokenAsks, want)
			}
			// The credentials went to the realm only: the registry saw
			// nothing but its tokens.
			for _, a := range hub.apiAuth {
				if a != "" && !strings.HasPrefix(a, "Bearer tok:") {
					t.Fatalf("the registry saw %q", a)
				}
			}
		})
	}
}
