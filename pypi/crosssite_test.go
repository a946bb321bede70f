package pypi

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestCrossSiteRefused: every request that changes state is refused when
// a browser says it comes from another site, before anything is stored;
// the same requests from the same site, or from clients that send no
// Sec-Fetch-Site (twine, curl), are served.
func TestCrossSiteRefused(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, true)
	foo := dist{name: "foo", version: "1.0"}
	e.mustUpload(ctx, foo)
	bar := dist{name: "bar", version: "1.0"}
	form, ct := uploadBody(t, bar, bar.wheelName(), bar.wheel(t), nil)
	requests := []struct {
		name string
		req  request
	}{
		{"upload", request{method: http.MethodPost, path: "/", header: map[string]string{"Content-Type": ct}, body: form}},
		{"yank", request{method: http.MethodPut, path: "/foo/1.0/yank"}},
		{"unyank", request{method: http.MethodDelete, path: "/foo/1.0/yank"}},
		{"delete file", request{method: http.MethodDelete, path: "/packages/foo/" + foo.sdistName()}},
		{"delete release", request{method: http.MethodDelete, path: "/foo/1.0"}},
	}
	for _, rq := range requests {
		t.Run("cross-site "+rq.name, func(t *testing.T) {
			before := e.keys(ctx)
			r := rq.req
			r.token = adminToken
			r.header = map[string]string{"Sec-Fetch-Site": "cross-site"}
			for k, v := range rq.req.header {
				r.header[k] = v
			}
			got := e.do(ctx, r)
			if got.status != http.StatusForbidden || !strings.Contains(got.body, "cross-site") || got.header.Get("Connection") != "close" {
				t.Fatalf("got %d %v %q, want 403 closing the connection", got.status, got.header, got.body)
			}
			if after := e.keys(ctx); !slices.Equal(before, after) {
				t.Errorf("storage changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
	for i, site := range []string{"same-origin", "none", ""} {
		rq := requests[i]
		t.Run(site+" "+rq.name, func(t *testing.T) {
			r := rq.req
			r.token = adminToken
			r.header = map[string]string{"Sec-Fetch-Site": site}
			for k, v := range rq.req.header {
				r.header[k] = v
			}
			if got := e.do(ctx, r); got.status != http.StatusOK {
				t.Fatalf("got %d %q, want 200", got.status, got.body)
			}
		})
	}
}
