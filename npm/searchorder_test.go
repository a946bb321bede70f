package npm

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
)

// TestSearchIndexIgnoresOlderDocuments replays index updates arriving out
// of order, as they do when two changes of one package race: the update
// from the older document comes last and must not undo the newer one,
// neither bring back a package that was unpublished.
func TestSearchIndexIgnoresOlderDocuments(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, nil)
	stored := func() *storedPackument {
		d, _, err := core.GetEntryDoc[packageHead](ctx, e.storage, packumentKey("racy"))
		if err != nil {
			t.Fatal(err)
		}
		return &storedPackument{EntryDoc: d}
	}
	e.publish(ctx, adminToken, newPublish(t, "racy", "1.0.0"))
	first := stored()
	e.publish(ctx, adminToken, newPublish(t, "racy", "2.0.0"))
	second := stored()

	e.h.indexPackage(ctx, first) // late
	if got := searchVersion(ctx, t, e, "racy"); got != "2.0.0" {
		t.Errorf("after a late update from an older document the index says %q, want 2.0.0", got)
	}
	if r := e.do(ctx, http.MethodDelete, "/racy/-rev/"+second.rev(), adminToken, nil); r.status != http.StatusOK {
		t.Fatalf("unpublish: %d %s", r.status, r.body)
	}
	e.h.indexPackage(ctx, second) // late
	if got := searchVersion(ctx, t, e, "racy"); got != "" {
		t.Errorf("an unpublished package is back in the index at %q", got)
	}
	e.publish(ctx, adminToken, newPublish(t, "racy", "3.0.0"))
	if got := searchVersion(ctx, t, e, "racy"); got != "3.0.0" {
		t.Errorf("after a publish that follows the unpublish the index says %q, want 3.0.0", got)
	}
}

// searchVersion searches for name and returns the version listed, or "".
func searchVersion(ctx context.Context, t *testing.T, e *testEnv, name string) string {
	t.Helper()
	r := e.do(ctx, http.MethodGet, "/-/v1/search?text="+name, adminToken, nil)
	var res struct {
		Objects []struct {
			Package struct{ Name, Version string }
		}
	}
	r.json(t, &res)
	for _, o := range res.Objects {
		if strings.EqualFold(o.Package.Name, name) {
			return o.Package.Version
		}
	}
	return ""
}
