package smartregistry

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// TestNosniffOnEveryResponse: every answer of every protocol, successes
// and errors alike, and the registry's own 404, carries
// X-Content-Type-Options: nosniff, so that no browser sniffs a served file
// or manifest into HTML.
func TestNosniffOnEveryResponse(t *testing.T) {
	cfg := Config{Storage: StorageConfig{Backend: memory.New()}, Logger: slog.New(slog.DiscardHandler)}
	cfg.Auth.Users = []core.UserConfig{{Username: "admin", Password: "pw"}}
	cfg.Auth.AnonymousRead = []core.Protocol{core.ProtocolPyPI}
	cfg.OCI.Enabled, cfg.NPM.Enabled, cfg.PyPI.Enabled = true, true, true
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(t.Context()) })
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
	}{
		{"OCI base, challenge", "GET", "/v2/", "", 401},
		{"OCI token", "GET", "/oci/token?service=smartregistry", "", 200},
		{"OCI unknown manifest", "HEAD", "/v2/app/manifests/latest", "", 401},
		{"OCI bad method", "POST", "/v2/app/tags/list", "", 405},
		{"npm ping", "GET", "/npm/-/ping", "", 200},
		{"npm unknown package", "GET", "/npm/nothing-here", "", 401},
		{"npm bad publish", "PUT", "/npm/pkg", "{", 401},
		{"PyPI simple index", "GET", "/pypi/simple/", "", 200},
		{"PyPI redirect", "GET", "/pypi/simple", "", 301},
		{"PyPI unknown project", "GET", "/pypi/simple/nothing/", "", 404},
		{"PyPI upload without credentials", "POST", "/pypi/", "x", 401},
		{"no protocol", "GET", "/nowhere", "", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			c := *srv.Client()
			c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q, want nosniff", got)
			}
		})
	}
	t.Run("HandleRequest without a request", func(t *testing.T) {
		if got := r.HandleRequest(t.Context(), nil).Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("X-Content-Type-Options %q", got)
		}
	})
}
