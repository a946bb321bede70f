package upstream

import (
	"errors"
	"net/http"
	"testing"

	"github.com/smartregistry/smartregistry/core"
)

// A document of one upstream (MetadataRequest.Upstream) is asked of that
// upstream only, whatever the scope rules say of its Name, with its
// credentials; Client.All names every upstream in priority order.
func TestMetadataOfOneUpstream(t *testing.T) {
	first := newDocOrigin(t, "first")
	var auth string
	second := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		w.Write([]byte("second"))
	})
	c := newTestClient(t, nil, nil, Policy{}, BreakerSettings{},
		core.Upstream{Name: "b", URL: second.URL, Priority: 2, Include: []string{"scoped-*"}, Token: "tok"},
		core.Upstream{Name: "a", URL: first.URL, Priority: 1})
	if all := c.All(t.Context()); len(all) != 2 || all[0].Name != "a" || all[1].Name != "b" {
		t.Fatalf("All: %+v", all)
	}
	doc, err := c.Metadata(t.Context(), MetadataRequest{Name: "index", Key: "k/b", Path: "/index", Upstream: "b"})
	if err != nil || string(doc.Body) != "second" || doc.Upstream != "b" || auth != "Bearer tok" {
		t.Fatalf("upstream b: %v %+v, auth %q", err, doc, auth)
	}
	if first.hits.Load() != 0 {
		t.Fatal("another upstream was asked")
	}
	first.set("", http.StatusNotFound)
	if _, err := c.Metadata(t.Context(), MetadataRequest{Name: "index", Key: "k/a", Path: "/index", Upstream: "a"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("404 of upstream a: %v", err)
	}
	if _, err := c.Metadata(t.Context(), MetadataRequest{Name: "index", Key: "k/c", Path: "/index", Upstream: "c"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown upstream: %v", err)
	}
}
