package core_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// teamAuthorizer knows users by a fixed password, each in one team, and
// lets a team write the npm packages under @<team>/ and read everything.
type teamAuthorizer map[string]string // user → team

func (a teamAuthorizer) Authenticate(_ context.Context, user, password string) (*core.Principal, error) {
	team, ok := a[user]
	if !ok || password != "pw-"+user {
		return nil, fmt.Errorf("%w: wrong password", core.ErrUnauthorized)
	}
	return &core.Principal{UserID: user, OrgID: team, Attributes: map[string]string{"team": team}}, nil
}

func (a teamAuthorizer) Authorize(_ context.Context, p *core.Principal, want core.Scope) (bool, error) {
	if want.Action == core.ActionRead {
		return true, nil
	}
	ok, _ := path.Match("@"+a[p.UserID]+"/*", want.Name)
	return ok, nil
}

func TestNewAuthProvider(t *testing.T) {
	for _, persist := range []bool{false, true} {
		t.Run(fmt.Sprintf("persist=%v", persist), func(t *testing.T) {
			ctx := t.Context()
			opts := core.TokenStoreOptions{}
			if persist {
				opts.Storage = core.NewStorage(memory.New(), core.StorageHooks{})
			}
			p, err := core.NewAuthProvider(teamAuthorizer{"ann": "web", "bob": "ops"}, opts)
			if err != nil {
				t.Fatal(err)
			}
			m := newManager(t, p)
			ann, err := m.Login(ctx, core.ProtocolNPM, "ann", "pw-ann")
			if err != nil {
				t.Fatal(err)
			}
			full, fullInfo, err := m.CreateToken(ctx, ann, core.TokenOptions{Name: "ci"})
			if err != nil {
				t.Fatal(err)
			}
			narrow, _, err := m.CreateToken(ctx, ann, core.TokenOptions{Scopes: mustScopes(t, "npm:package:@web/app:read")})
			if err != nil {
				t.Fatal(err)
			}
			tests := []struct {
				name, auth, scope string
				want              error // nil: allowed
			}{
				{"password, own team", basic("ann", "pw-ann"), "npm:package:@web/app:write", nil},
				{"password, other team", basic("ann", "pw-ann"), "npm:package:@ops/db:write", core.ErrForbidden},
				{"token, own team", "Bearer " + full, "npm:package:@web/app:write", nil},
				{"token, other team", "Bearer " + full, "npm:package:@ops/db:write", core.ErrForbidden},
				{"narrow token reads", "Bearer " + narrow, "npm:package:@web/app:read", nil},
				{"narrow token cannot write", "Bearer " + narrow, "npm:package:@web/app:write", core.ErrForbidden},
				{"wrong password", basic("ann", "nope"), "", core.ErrUnauthorized},
				{"unknown token", "Bearer srt_nope", "", core.ErrUnauthorized},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					req := &core.RequestContext{Header: http.Header{"Authorization": {tt.auth}}, Actor: &core.Actor{}}
					pr, err := m.IdentifyRequest(ctx, core.ProtocolNPM, req, "")
					if err == nil {
						if req.Actor.OrgID != "web" || req.Actor.Attributes["team"] != "web" {
							t.Errorf("actor %+v", req.Actor)
						}
						err = m.Authorize(ctx, pr, mustScopes(t, tt.scope)[0])
					}
					if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
						t.Errorf("got %v, want %v", err, tt.want)
					}
				})
			}
			list, err := p.ListTokens(ctx, "ann")
			if err != nil || len(list) != 2 {
				t.Fatalf("ListTokens = %v, %v", list, err)
			}
			if err := p.RevokeToken(ctx, "ann", fullInfo.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := p.ValidateToken(ctx, full, core.ProtocolNPM); !errors.Is(err, core.ErrUnauthorized) {
				t.Errorf("revoked token: %v", err)
			}
		})
	}
	if _, err := core.NewAuthProvider(nil, core.TokenStoreOptions{}); err == nil {
		t.Error("NewAuthProvider(nil) succeeded")
	}
}

func mustScopes(t *testing.T, list ...string) []core.Scope {
	t.Helper()
	if len(list) == 1 && list[0] == "" {
		return []core.Scope{{}}
	}
	s, err := core.ParseScopes(list)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
