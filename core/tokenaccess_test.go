package core_test

import (
	"errors"
	"testing"

	"github.com/smartregistry/smartregistry/core"
)

// TestTokenAccess: which of its user's tokens a caller may list and
// revoke. A password login may manage all; a token itself and the tokens
// whose scopes, protocols and write access lie within its own.
func TestTokenAccess(t *testing.T) {
	ctx := t.Context()
	m := newManager(t, newMemoryProvider(t, core.DefaultAuthOptions{Users: fixtureUsers()}))
	login, err := m.Login(ctx, core.ProtocolNPM, "alice", alicePassword)
	if err != nil {
		t.Fatal(err)
	}
	type made struct {
		token string
		info  core.TokenInfo
		p     *core.Principal
	}
	create := func(opts core.TokenOptions) made {
		tok, info, err := m.CreateToken(ctx, login, opts)
		if err != nil {
			t.Fatal(err)
		}
		p, err := m.Login(ctx, core.ProtocolNPM, "", tok)
		if err != nil {
			t.Fatal(err)
		}
		return made{tok, info, p}
	}
	npmScope := func(s string) []core.Scope { return []core.Scope{core.MustParseScope(s)} }
	all := create(core.TokenOptions{Name: "all"})
	npmOnly := create(core.TokenOptions{Name: "npm", Protocols: []core.Protocol{core.ProtocolNPM}})
	team := create(core.TokenOptions{Name: "team", Protocols: []core.Protocol{core.ProtocolNPM}, Scopes: npmScope("npm:package:@team/*:*")})
	app := create(core.TokenOptions{Name: "app", Protocols: []core.Protocol{core.ProtocolNPM}, Scopes: npmScope("npm:package:@team/app:*")})
	ro := create(core.TokenOptions{Name: "ro", ReadOnly: true, Protocols: []core.Protocol{core.ProtocolNPM}, Scopes: npmScope("npm:package:@team/app:read")})

	tests := []struct {
		name   string
		caller *core.Principal
		target made
		want   error // nil: may manage
	}{
		{"password login, any token", login, all, nil},
		{"itself", app.p, app, nil},
		{"all-protocol token, a narrower one", all.p, team, nil},
		{"npm-only token, an all-protocol one", npmOnly.p, all, core.ErrForbidden},
		{"scope token, a token inside its scope", team.p, app, nil},
		{"package token, its scope's token", app.p, team, core.ErrForbidden},
		{"package token, the user's full token", app.p, all, core.ErrForbidden},
		{"read-only token, a writing one", ro.p, app, core.ErrForbidden},
		{"writing token, a read-only one it covers", app.p, ro, nil},
		{"anonymous", nil, app, core.ErrUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := m.ListTokens(ctx, tt.caller)
			listed := false
			for _, i := range list {
				listed = listed || i.ID == tt.target.info.ID
			}
			if tt.want == nil && (err != nil || !listed) || tt.want != nil && listed {
				t.Errorf("ListTokens: listed %v, err %v; want listed=%v", listed, err, tt.want == nil)
			}
			if tt.want == nil {
				return // revoking would change the fixtures of later cases
			}
			if err := m.RevokeToken(ctx, tt.caller, tt.target.info.ID); !errors.Is(err, tt.want) {
				t.Errorf("RevokeToken: %v, want %v", err, tt.want)
			}
			if _, err := m.Login(ctx, core.ProtocolNPM, "", tt.target.token); err != nil {
				t.Errorf("the target token was revoked: %v", err)
			}
		})
	}
	t.Run("revoke a covered token", func(t *testing.T) {
		if err := m.RevokeToken(ctx, team.p, app.info.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Login(ctx, core.ProtocolNPM, "", app.token); !errors.Is(err, core.ErrUnauthorized) {
			t.Errorf("revoked token still logs in: %v", err)
		}
		if err := m.RevokeToken(ctx, team.p, app.info.ID); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("second revoke: %v, want ErrNotFound", err)
		}
	})
}
