package smartregistry_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"path"

	"github.com/smartregistry/smartregistry"
	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// teamRBAC is a tiny role-based AuthProvider core: users belong to a team,
// every user may read, and a team may write and delete the packages its
// globs match. Tokens are left to the built-in store (core.NewAuthProvider).
type teamRBAC struct {
	passwords map[string]string   // user → password (use a real directory)
	teams     map[string]string   // user → team
	packages  map[string][]string // team → globs of "<protocol>/<package>"
}

// Authenticate checks the password and names the user's team as the org
// the user acts for: hooks and the request log see it as Actor.OrgID.
func (a *teamRBAC) Authenticate(_ context.Context, user, password string) (*core.Principal, error) {
	if want, ok := a.passwords[user]; !ok || want != password {
		return nil, fmt.Errorf("%w: unknown user or wrong password", core.ErrUnauthorized)
	}
	return &core.Principal{UserID: user, OrgID: a.teams[user]}, nil
}

// Authorize lets everyone read and a team change what its globs match.
func (a *teamRBAC) Authorize(_ context.Context, p *core.Principal, want core.Scope) (bool, error) {
	if want.Action == core.ActionRead {
		return true, nil
	}
	for _, glob := range a.packages[p.OrgID] {
		if ok, _ := path.Match(glob, want.Protocol+"/"+want.Name); ok {
			return true, nil
		}
	}
	return false, nil
}

// A custom AuthProvider that only authenticates and authorizes, by team
// and package globs; core.NewAuthProvider adds the token endpoints.
func Example_rbacAuthProvider() {
	provider, err := core.NewAuthProvider(&teamRBAC{
		passwords: map[string]string{"ann": "ann-pw", "bob": "bob-pw"},
		teams:     map[string]string{"ann": "web", "bob": "ops"},
		packages:  map[string][]string{"web": {"pypi/web-*", "npm/@web/*"}, "ops": {"pypi/ops-*"}},
	}, core.TokenStoreOptions{})
	if err != nil {
		panic(err)
	}
	cfg := smartregistry.Config{
		Storage:      smartregistry.StorageConfig{Backend: memory.New()},
		AuthProvider: provider,
		Logger:       quietLogger(),
	}
	cfg.PyPI.Enabled = true
	reg, err := smartregistry.New(cfg)
	if err != nil {
		panic(err)
	}
	defer reg.Close(context.Background())

	for _, try := range []struct{ user, password, target string }{
		{"ann", "ann-pw", "/pypi/web-utils/1.0"}, // her team's: allowed, and there is no such release
		{"ann", "ann-pw", "/pypi/ops-db/1.0"},    // another team's
		{"bob", "bob-pw", "/pypi/ops-db/1.0"},
		{"bob", "wrong", "/pypi/ops-db/1.0"},
	} {
		req := core.NewRequest(http.MethodDelete, try.target, nil)
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(try.user+":"+try.password)))
		resp := reg.HandleRequest(context.Background(), req)
		resp.Body.Close()
		fmt.Println(try.user, try.target, resp.Status, "org:", req.Actor.OrgID)
	}
	// Output:
	// ann /pypi/web-utils/1.0 404 org: web
	// ann /pypi/ops-db/1.0 403 org: web
	// bob /pypi/ops-db/1.0 404 org: ops
	// bob /pypi/ops-db/1.0 401 org:
}
