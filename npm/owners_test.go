package npm

import (
	"net/http"
	"strings"
	"testing"
)

// TestOwners changes a package's owners as "npm owner add/rm" does: a PUT
// of the document's id, revision and maintainers only. The owners change,
// and no version is lost (a body without "versions" unpublishes nothing).
func TestOwners(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, nil)
	e.publish(ctx, adminToken, newPublish(t, "owned", "1.0.0"))
	e.publish(ctx, adminToken, newPublish(t, "owned", "1.1.0"))
	doc := e.packument(ctx, "owned")
	if m, _ := doc["maintainers"].([]any); len(m) != 1 || !strings.Contains(e.do(ctx, "GET", "/owned", adminToken, nil).bodyString(), `"maintainers":[{"email":"","name":"admin"}]`) {
		t.Fatalf("maintainers after publish: %v", doc["maintainers"])
	}
	body := `{"_id":"owned","_rev":"` + doc["_rev"].(string) + `","maintainers":[{"name":"admin","email":""},{"name":"bob","email":""}]}`
	if r := e.do(ctx, http.MethodPut, "/owned/-rev/"+doc["_rev"].(string), adminToken, strings.NewReader(body)); r.status != http.StatusCreated {
		t.Fatalf("owner add: %d %s", r.status, r.body)
	}
	doc = e.packument(ctx, "owned")
	versions, _ := doc["versions"].(map[string]any)
	if len(versions) != 2 || !strings.Contains(e.do(ctx, "GET", "/owned", adminToken, nil).bodyString(), `{"email":"","name":"bob"}`) {
		t.Fatalf("after owner add: %d versions, maintainers %v", len(versions), doc["maintainers"])
	}
	empty := `{"_id":"owned","_rev":"` + doc["_rev"].(string) + `","maintainers":[]}`
	if r := e.do(ctx, http.MethodPut, "/owned/-rev/"+doc["_rev"].(string), adminToken, strings.NewReader(empty)); r.status != http.StatusBadRequest {
		t.Fatalf("removing every owner: %d %s", r.status, r.body)
	}
	if r := e.do(ctx, http.MethodGet, "/-/user/admin/package", adminToken, nil); r.status != http.StatusOK || !strings.Contains(string(r.body), `"owned":"read-write"`) {
		t.Fatalf("access list: %d %s", r.status, r.body)
	}
}

func (r result) bodyString() string { return string(r.body) }
