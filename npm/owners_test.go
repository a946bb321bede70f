package npm

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
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

// TestAbbreviatedIsAPrefix checks the two forms rendered from one stored
// manifest: the abbreviated one has only the fields installs need, the
// full one all of them, both valid JSON with the tarball URL in place.
func TestAbbreviatedIsAPrefix(t *testing.T) {
	raw := []byte(`{"name":"p","version":"1.0.0","readme":"long text","scripts":{"test":"x"},"dependencies":{"a":"^1"},"dist":{"shasum":"ab"}}`)
	e, err := newEntry("p", "1.0.0", raw, 1, time.Unix(0, 0), "id", "sha")
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeEntry(e.encode())
	if err != nil {
		t.Fatal(err)
	}
	var full, abbr map[string]json.RawMessage
	if err := json.Unmarshal(withBase(back.Full, "http://r/npm"), &full); err != nil {
		t.Fatalf("full: %v\n%s", err, back.Full)
	}
	if err := json.Unmarshal(append(withBase(back.abbreviated(), "http://r/npm"), '}'), &abbr); err != nil {
		t.Fatalf("abbreviated: %v", err)
	}
	for _, k := range []string{"readme", "scripts"} {
		if _, ok := abbr[k]; ok {
			t.Errorf("abbreviated has %s", k)
		}
		if _, ok := full[k]; !ok {
			t.Errorf("full lacks %s", k)
		}
	}
	for _, m := range []map[string]json.RawMessage{full, abbr} {
		if !strings.Contains(string(m["dist"]), `"tarball":"http://r/npm/p/-/p-1.0.0.tgz"`) || string(m["dependencies"]) != `{"a":"^1"}` {
			t.Errorf("dist %s, dependencies %s", m["dist"], m["dependencies"])
		}
	}
}
