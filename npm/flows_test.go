package npm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
)

// TestUnpublishVersionLikeTheCLI replays "npm unpublish pkg@1.1.0": GET
// ?write=true, PUT /-rev/<rev> without the version, then DELETE of the
// tarball with the new revision.
func TestUnpublishVersionLikeTheCLI(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, nil)
	for _, v := range []string{"1.0.0", "1.1.0"} {
		e.publish(ctx, adminToken, newPublish(t, "@team/gone", v))
	}
	doc := e.packument(ctx, "@team/gone")
	rev := doc["_rev"].(string)
	versions := doc["versions"].(map[string]any)
	tarball := versions["1.1.0"].(map[string]any)["dist"].(map[string]any)["tarball"].(string)
	delete(versions, "1.1.0")
	doc["dist-tags"] = map[string]any{"latest": "1.0.0"}

	// A version published after the client read the document must survive
	// the PUT that lacks it.
	e.publish(ctx, adminToken, newPublish(t, "@team/gone", "1.2.0"))

	body, _ := json.Marshal(doc)
	if r := e.do(ctx, "PUT", "/@team%2fgone/-rev/"+rev, teamToken, bytes.NewReader(body)); r.status != http.StatusForbidden {
		t.Fatalf("unpublish with a write-only token: %d %s", r.status, r.body)
	}
	if r := e.do(ctx, "PUT", "/@team%2fgone/-rev/"+rev, adminToken, bytes.NewReader(body)); r.status != http.StatusCreated {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	after := e.packument(ctx, "@team/gone")
	got := after["versions"].(map[string]any)
	if _, ok := got["1.1.0"]; ok {
		t.Error("1.1.0 still listed")
	}
	if _, ok := got["1.2.0"]; !ok {
		t.Error("1.2.0, published meanwhile, was lost")
	}
	path := strings.TrimPrefix(tarball, testBase)
	r := e.do(ctx, "DELETE", path+"/-rev/"+after["_rev"].(string), adminToken, nil)
	if r.status != http.StatusOK {
		t.Fatalf("DELETE tarball: %d %s", r.status, r.body)
	}
	if r := e.do(ctx, "GET", path, adminToken, nil); r.status != http.StatusNotFound {
		t.Errorf("tarball still served: %d", r.status)
	}
	if r := e.do(ctx, "DELETE", "/@team/gone/-/gone-1.0.0.tgz/-rev/1-x", adminToken, nil); r.status != http.StatusConflict {
		t.Errorf("DELETE of a published version's tarball: %d %s", r.status, r.body)
	}
	// Whole package.
	r = e.do(ctx, "DELETE", "/@team%2fgone/-rev/"+after["_rev"].(string), adminToken, nil)
	if r.status != http.StatusOK {
		t.Fatalf("unpublish package: %d %s", r.status, r.body)
	}
	if r := e.do(ctx, "GET", "/@team%2fgone", adminToken, nil); r.status != http.StatusNotFound {
		t.Errorf("unpublished package: %d %s", r.status, r.body)
	}
	for _, k := range e.keys(ctx) {
		if strings.HasSuffix(k, ".tgz") {
			t.Errorf("tarball left: %s", k)
		}
	}
}

func TestDeprecate(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, nil)
	e.publish(ctx, adminToken, newPublish(t, "old", "1.0.0"))
	e.publish(ctx, adminToken, newPublish(t, "old", "1.1.0"))
	deprecate := func(msg string) {
		doc := e.packument(ctx, "old")
		for _, v := range doc["versions"].(map[string]any) {
			v.(map[string]any)["deprecated"] = msg
		}
		body, _ := json.Marshal(doc)
		if r := e.do(ctx, "PUT", "/old", adminToken, bytes.NewReader(body)); r.status != http.StatusCreated {
			t.Fatalf("deprecate: %d %s", r.status, r.body)
		}
	}
	deprecate("use new instead")
	r := e.do(ctx, "GET", "/old", adminToken, nil, "Accept", abbreviatedType)
	if strings.Count(string(r.body), `"deprecated":"use new instead"`) != 2 {
		t.Fatalf("not deprecated: %s", r.body)
	}
	deprecate("")
	r = e.do(ctx, "GET", "/old", adminToken, nil)
	if strings.Contains(string(r.body), `"deprecated"`) {
		t.Fatalf("still deprecated: %s", r.body)
	}
	if len(e.packument(ctx, "old")["versions"].(map[string]any)) != 2 {
		t.Fatal("a deprecate without -rev removed versions")
	}
}

func TestDistTags(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, nil)
	e.publish(ctx, adminToken, newPublish(t, "@team/tagged", "1.0.0"))
	e.publish(ctx, adminToken, newPublish(t, "@team/tagged", "1.1.0"))
	tests := []struct {
		name, method, path, body string
		want                     int
		wantIn                   string
	}{
		{"add", "PUT", "/-/package/@team%2ftagged/dist-tags/next", `"1.0.0"`, 200, `"next":"1.0.0"`},
		{"add unescaped", "PUT", "/-/package/@team/tagged/dist-tags/rc", `"1.1.0"`, 200, `"rc":"1.1.0"`},
		{"list", "GET", "/-/package/@team%2ftagged/dist-tags", "", 200, `"latest":"1.1.0"`},
		{"unknown version", "PUT", "/-/package/@team%2ftagged/dist-tags/x", `"9.0.0"`, 404, "not found"},
		{"version as tag", "PUT", "/-/package/@team%2ftagged/dist-tags/1.0.0", `"1.0.0"`, 400, "invalid tag"},
		{"remove", "DELETE", "/-/package/@team%2ftagged/dist-tags/next", "", 200, `"rc"`},
		{"remove missing", "DELETE", "/-/package/@team%2ftagged/dist-tags/next", "", 404, "not found"},
		{"remove latest", "DELETE", "/-/package/@team%2ftagged/dist-tags/latest", "", 400, "latest"},
		{"unknown package", "GET", "/-/package/nope/dist-tags", "", 404, "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(ctx, tt.method, tt.path, adminToken, strings.NewReader(tt.body))
			if r.status != tt.want || !strings.Contains(string(r.body), tt.wantIn) {
				t.Fatalf("got %d %s, want %d with %s", r.status, r.body, tt.want, tt.wantIn)
			}
		})
	}
}

func TestSearch(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, nil)
	for _, n := range []string{"alpha", "alpha-tools", "beta-alpha", "@team/alpha", "gamma"} {
		e.publish(ctx, adminToken, newPublish(t, n, "1.0.0"))
	}
	extra := newPublish(t, "delta", "1.0.0")
	extra.extra = map[string]any{"description": "helps with alpha things", "keywords": []string{"zeta"}}
	e.publish(ctx, adminToken, extra)
	tests := []struct {
		query, token string
		want         []string
		total        int
	}{
		{"text=alpha", adminToken, []string{"alpha", "@team/alpha", "alpha-tools", "beta-alpha", "delta"}, 5},
		{"text=alpha&size=2", adminToken, []string{"alpha", "@team/alpha"}, 5},
		{"text=alpha&size=2&from=2", adminToken, []string{"alpha-tools", "beta-alpha"}, 5},
		{"text=zeta", adminToken, []string{"delta"}, 1},
		{"text=ALPHA-T", adminToken, []string{"alpha-tools"}, 1},
		{"text=alpha", teamToken, []string{"@team/alpha"}, 1},
		{"text=nothing-like-it", adminToken, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := e.do(ctx, "GET", "/-/v1/search?"+tt.query, tt.token, nil)
			var res struct {
				Objects []struct {
					Package struct {
						Name    string `json:"name"`
						Version string `json:"version"`
					} `json:"package"`
				} `json:"objects"`
				Total int `json:"total"`
			}
			r.json(t, &res)
			var names []string
			for _, o := range res.Objects {
				names = append(names, o.Package.Name)
			}
			if fmt.Sprint(names) != fmt.Sprint(tt.want) || res.Total != tt.total {
				t.Errorf("got %v (total %d), want %v (total %d)", names, res.Total, tt.want, tt.total)
			}
		})
	}
	// A lost index is rebuilt from the documents.
	for i := range searchShards {
		if err := e.storage.Delete(ctx, searchShardKey(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.h.RebuildSearchIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if r := e.do(ctx, "GET", "/-/v1/search?text=alpha", adminToken, nil); !strings.Contains(string(r.body), `"total":5`) {
		t.Fatalf("after rebuild: %s", r.body)
	}
	// Unpublishing drops the package from the index.
	doc := e.packument(ctx, "gamma")
	e.do(ctx, "DELETE", "/gamma/-rev/"+doc["_rev"].(string), adminToken, nil)
	r := e.do(ctx, "GET", "/-/v1/search?text=gamma", adminToken, nil)
	if strings.Contains(string(r.body), `"name":"gamma"`) {
		t.Errorf("unpublished package still found: %s", r.body)
	}
}

func TestLoginAndTokens(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, nil)
	r := e.do(ctx, "PUT", "/-/user/org.couchdb.user:admin", "", strings.NewReader(`{"_id":"org.couchdb.user:admin","name":"admin","password":"wrong","type":"user"}`))
	if r.status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d %s", r.status, r.body)
	}
	r = e.do(ctx, "PUT", "/-/user/org.couchdb.user:admin", "", strings.NewReader(`{"_id":"org.couchdb.user:admin","name":"admin","password":"`+adminPassword+`","type":"user"}`))
	var login struct {
		OK    bool   `json:"ok"`
		Token string `json:"token"`
	}
	r.json(t, &login)
	if r.status != http.StatusCreated || !login.OK || login.Token == "" {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	if r := e.do(ctx, "GET", "/-/whoami", login.Token, nil); !strings.Contains(string(r.body), `"admin"`) {
		t.Fatalf("whoami with the login token: %d %s", r.status, r.body)
	}
	r = e.do(ctx, "POST", "/-/npm/v1/tokens", login.Token, strings.NewReader(`{"password":"`+adminPassword+`","readonly":true}`))
	var created struct {
		Token, Key string
		ReadOnly   bool `json:"readonly"`
	}
	r.json(t, &created)
	if r.status != http.StatusCreated || created.Token == "" || !created.ReadOnly {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if r := e.do(ctx, "POST", "/-/npm/v1/tokens", login.Token, strings.NewReader(`{"password":"nope"}`)); r.status != http.StatusUnauthorized {
		t.Fatalf("create with a wrong password: %d %s", r.status, r.body)
	}
	if r := e.do(ctx, "PUT", "/ro-pkg", created.Token, bytes.NewReader(newPublish(t, "ro-pkg", "1.0.0").body())); r.status != http.StatusForbidden {
		t.Fatalf("publish with a read-only token: %d %s", r.status, r.body)
	}
	r = e.do(ctx, "GET", "/-/npm/v1/tokens", login.Token, nil)
	if !strings.Contains(string(r.body), created.Key) || !strings.Contains(string(r.body), `"total":2`) {
		t.Fatalf("list: %s", r.body)
	}
	if r := e.do(ctx, "DELETE", "/-/npm/v1/tokens/token/"+created.Key, login.Token, nil); r.status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := e.do(ctx, "GET", "/-/whoami", created.Token, nil); r.status != http.StatusUnauthorized {
		t.Fatalf("revoked token still works: %d", r.status)
	}
	if r := e.do(ctx, "DELETE", "/-/npm/v1/tokens/token/"+created.Key, login.Token, nil); r.status != http.StatusNotFound {
		t.Fatalf("revoke twice: %d", r.status)
	}
	// Scoped token creation.
	r = e.do(ctx, "POST", "/-/npm/v1/tokens", login.Token, strings.NewReader(`{"password":"`+adminPassword+`","scopes":["@team"],"packages_and_scopes_permission":"read-write"}`))
	r.json(t, &created)
	if r := e.do(ctx, "PUT", "/free-pkg", created.Token, bytes.NewReader(newPublish(t, "free-pkg", "1.0.0").body())); r.status != http.StatusForbidden {
		t.Fatalf("publish outside the token's scope: %d %s", r.status, r.body)
	}
	if r := e.do(ctx, "PUT", "/@team%2fok", created.Token, bytes.NewReader(newPublish(t, "@team/ok", "1.0.0").body())); r.status != http.StatusCreated {
		t.Fatalf("publish inside the token's scope: %d %s", r.status, r.body)
	}
}

func TestAudit(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, nil)
	for _, p := range []string{"/-/npm/v1/security/advisories/bulk", "/-/npm/v1/security/audits/quick"} {
		if r := e.do(ctx, "POST", p, "", strings.NewReader(`{"x":["1.0.0"]}`)); r.status != http.StatusOK {
			t.Errorf("%s: %d %s", p, r.status, r.body)
		}
	}
}

// TestLogoutAndReadOnlyRevoke: "npm logout" revokes the token it was run
// with (DELETE /-/user/token/<token>), and a read-only token may revoke
// itself but not the user's other tokens.
func TestLogoutAndReadOnlyRevoke(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, nil)
	login := func() string {
		r := e.do(ctx, "PUT", "/-/user/org.couchdb.user:admin", "", strings.NewReader(`{"name":"admin","password":"`+adminPassword+`"}`))
		var body struct{ Token string }
		r.json(t, &body)
		if r.status != http.StatusCreated || body.Token == "" {
			t.Fatalf("login: %d %s", r.status, r.body)
		}
		return body.Token
	}
	full := login()
	r := e.do(ctx, "POST", "/-/npm/v1/tokens", full, strings.NewReader(`{"password":"`+adminPassword+`","readonly":true}`))
	var ro struct{ Token, Key string }
	r.json(t, &ro)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	e.revokes(t, []revokeCase{
		{"read-only revokes another by ID", "/-/npm/v1/tokens/token/" + core.TokenID(full), ro.Token, 403, "", full},
		{"read-only revokes another by token", "/-/user/token/" + full, ro.Token, 403, "", full},
		{"read-only logs out", "/-/user/token/" + ro.Token, ro.Token, 204, ro.Token, full},
		{"logout", "/-/user/token/" + full, full, 204, full, ""},
	})
}

// revokeCase is a revocation request and what it must leave behind: a
// token revoked (dead) and one still working (alive), either may be "".
type revokeCase struct {
	name, path, token string
	status            int
	dead, alive       string
}

// revokes runs each revocation as a subtest, in order.
func (e *testEnv) revokes(t *testing.T, cases []revokeCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			if r := e.do(t.Context(), "DELETE", tt.path, tt.token, nil); r.status != tt.status {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tt.status)
			}
			if tt.dead != "" {
				if r := e.do(t.Context(), "GET", "/-/whoami", tt.dead, nil); r.status != http.StatusUnauthorized {
					t.Errorf("revoked token answers %d", r.status)
				}
			}
			if tt.alive != "" {
				if r := e.do(t.Context(), "GET", "/-/whoami", tt.alive, nil); r.status != http.StatusOK {
					t.Errorf("other token answers %d", r.status)
				}
			}
		})
	}
}

// TestPackageTokenCannotManageOthers: a token limited to one package sees
// only itself in "npm token list" and cannot revoke its user's other
// tokens; the login token, which covers it, may revoke it, and it may
// revoke itself.
func TestPackageTokenCannotManageOthers(t *testing.T) {
	ctx := t.Context()
	e := newTestEnv(t, nil)
	r := e.do(ctx, "PUT", "/-/user/org.couchdb.user:admin", "", strings.NewReader(`{"name":"admin","password":"`+adminPassword+`"}`))
	var login struct{ Token string }
	r.json(t, &login)
	if r.status != http.StatusCreated {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	create := func(pkg string) (token, key string) {
		r := e.do(ctx, "POST", "/-/npm/v1/tokens", login.Token,
			strings.NewReader(`{"password":"`+adminPassword+`","packages":["`+pkg+`"],"packages_and_scopes_permission":"read-write"}`))
		var c struct{ Token, Key string }
		r.json(t, &c)
		if r.status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		return c.Token, c.Key
	}
	one, oneKey := create("one-pkg")
	two, twoKey := create("two-pkg")
	loginKey := core.TokenID(login.Token)

	r = e.do(ctx, "GET", "/-/npm/v1/tokens", one, nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), oneKey) || !strings.Contains(string(r.body), `"total":1`) {
		t.Fatalf("a package token lists %d %s, want only itself", r.status, r.body)
	}
	if r = e.do(ctx, "GET", "/-/npm/v1/tokens", login.Token, nil); !strings.Contains(string(r.body), `"total":3`) {
		t.Fatalf("the login token lists %s, want all three", r.body)
	}
	e.revokes(t, []revokeCase{
		{"package token revokes the login token", "/-/npm/v1/tokens/token/" + loginKey, one, 403, "", login.Token},
		{"package token logs the login token out", "/-/user/token/" + login.Token, one, 403, "", login.Token},
		{"package token revokes another package's", "/-/npm/v1/tokens/token/" + twoKey, one, 403, "", two},
		{"unknown ID", "/-/npm/v1/tokens/token/0123456789abcdef", one, 404, "", one},
		{"login token revokes a token it covers", "/-/npm/v1/tokens/token/" + twoKey, login.Token, 204, two, login.Token},
		{"package token revokes itself", "/-/npm/v1/tokens/token/" + oneKey, one, 204, one, login.Token},
	})
}
