package core_test

import (
	"encoding/base64"
	"errors"
	"maps"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

func basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

func TestIdentify(t *testing.T) {
	ctx := t.Context()
	p := newMemoryProvider(t, core.DefaultAuthOptions{
		Users:  fixtureUsers(),
		Tokens: []core.StaticToken{{Token: "static-admin", UserID: "admin"}},
	})
	m := newManager(t, p)
	tok, info, err := p.CreateToken(ctx, "alice", core.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pypiTok, _, err := p.CreateToken(ctx, "alice", core.TokenOptions{Protocols: []core.Protocol{core.ProtocolPyPI}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		auth      string // Authorization header; "" for none
		protocol  core.Protocol
		user      string // "" with err nil: anonymous
		tokenID   string
		wantError bool
	}{
		{"none", "", core.ProtocolNPM, "", "", false},
		{"bearer token", "Bearer " + tok, core.ProtocolNPM, "alice", info.ID, false},
		{"bearer lower case scheme", "bearer " + tok, core.ProtocolNPM, "alice", info.ID, false},
		{"token scheme", "token " + tok, core.ProtocolNPM, "alice", info.ID, false},
		{"raw token (cargo, gem)", tok, core.ProtocolCargo, "alice", info.ID, false},
		{"basic __token__", basic("__token__", tok), core.ProtocolPyPI, "alice", info.ID, false},
		{"basic any user with token", basic("whoever", tok), core.ProtocolMaven, "alice", info.ID, false},
		{"basic static token", basic("__token__", "static-admin"), core.ProtocolPyPI, "admin", core.TokenID("static-admin"), false},
		{"basic password", basic("alice", alicePassword), core.ProtocolNPM, "alice", "", false},
		{"basic password, scoped user", basic("reader", readerPassword), core.ProtocolNPM, "reader", "", false},
		{"basic wrong password", basic("alice", "nope"), core.ProtocolNPM, "", "", true},
		{"basic empty password", basic("alice", ""), core.ProtocolNPM, "", "", true},
		{"basic not base64", "Basic !!!", core.ProtocolNPM, "", "", true},
		{"basic protocol-restricted token elsewhere", basic("__token__", pypiTok), core.ProtocolNPM, "", "", true},
		{"bearer protocol-restricted token elsewhere", "Bearer " + pypiTok, core.ProtocolNPM, "", "", true},
		{"bearer unknown", "Bearer srt_nothing", core.ProtocolNPM, "", "", true},
		{"bearer empty", "Bearer ", core.ProtocolNPM, "", "", true},
		{"raw unknown", "garbage", core.ProtocolNPM, "", "", true},
		{"other scheme", "Digest username=alice", core.ProtocolNPM, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.auth != "" {
				h.Set("Authorization", tt.auth)
			}
			pr, err := m.Identify(ctx, tt.protocol, h, "")
			if tt.wantError {
				if !errors.Is(err, core.ErrUnauthorized) {
					t.Errorf("Identify = %+v, %v; want ErrUnauthorized", pr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.user == "" {
				if pr != nil {
					t.Errorf("principal %+v, want none", pr)
				}
				return
			}
			if pr.UserID != tt.user || pr.TokenID != tt.tokenID {
				t.Errorf("principal %+v, want user %s token %q", pr, tt.user, tt.tokenID)
			}
		})
	}
}

// TestIdentifyRequestRecordsActor: the identified caller's user, token,
// org and attributes reach req.Actor, by password, created token, static
// token and OCI bearer JWT alike.
func TestIdentifyRequestRecordsActor(t *testing.T) {
	users := fixtureUsers()
	users[0].OrgID = "acme"
	p := newMemoryProvider(t, core.DefaultAuthOptions{Users: users, Tokens: []core.StaticToken{
		{Token: "ci-token", UserID: "ci", OrgID: "platform"},
		{Token: "alice-static", UserID: "alice"},
	}})
	m := newManager(t, p)
	tok, info, err := p.CreateToken(t.Context(), "alice", core.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	jwt, _, _, err := m.IssueBearer(&core.Principal{UserID: "bob", TokenID: "t1", OrgID: "globex",
		Attributes: map[string]string{"team": "infra"}}, nil, "svc")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, auth, audience string
		want                 core.Actor
	}{
		{"password", basic("alice", alicePassword), "", core.Actor{UserID: "alice", OrgID: "acme"}},
		{"created token", "Bearer " + tok, "", core.Actor{UserID: "alice", TokenID: info.ID, OrgID: "acme"}},
		{"static token with its own org", "Bearer ci-token", "", core.Actor{UserID: "ci", TokenID: core.TokenID("ci-token"), OrgID: "platform"}},
		{"static token of a user", "Bearer alice-static", "", core.Actor{UserID: "alice", TokenID: core.TokenID("alice-static"), OrgID: "acme"}},
		{"user without org", basic("reader", readerPassword), "", core.Actor{UserID: "reader"}},
		{"bearer JWT", "Bearer " + jwt, "svc", core.Actor{UserID: "bob", TokenID: "t1", OrgID: "globex",
			Attributes: map[string]string{"team": "infra"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &core.RequestContext{Header: http.Header{"Authorization": {tt.auth}}, Actor: &core.Actor{IP: "192.0.2.1"}}
			if _, err := m.IdentifyRequest(t.Context(), core.ProtocolNPM, req, tt.audience); err != nil {
				t.Fatal(err)
			}
			tt.want.IP = "192.0.2.1"
			got := *req.Actor
			if got.UserID != tt.want.UserID || got.TokenID != tt.want.TokenID || got.OrgID != tt.want.OrgID ||
				got.IP != tt.want.IP || !maps.Equal(got.Attributes, tt.want.Attributes) {
				t.Errorf("actor %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestAuthorizeAnonymousRead(t *testing.T) {
	ctx := t.Context()
	p := newMemoryProvider(t, core.DefaultAuthOptions{Users: fixtureUsers(), Tokens: []core.StaticToken{
		{Token: "pypi-only", UserID: "ci", Scopes: []string{"pypi:*:*:*"}},
	}})
	pypiOnly, err := p.ValidateToken(ctx, "pypi-only", "")
	if err != nil {
		t.Fatal(err)
	}
	npmRead := core.NewScope(core.ProtocolNPM, "package", "x", core.ActionRead)
	npmWrite := core.NewScope(core.ProtocolNPM, "package", "x", core.ActionWrite)
	npmDelete := core.NewScope(core.ProtocolNPM, "package", "x", core.ActionDelete)
	pypiRead := core.NewScope(core.ProtocolPyPI, "package", "x", core.ActionRead)
	tests := []struct {
		name      string
		anonymous []core.Protocol
		p         *core.Principal
		want      core.Scope
		err       error // nil: allowed
	}{
		{"off: anonymous read", nil, nil, npmRead, core.ErrUnauthorized},
		{"off: anonymous write", nil, nil, npmWrite, core.ErrUnauthorized},
		{"on: anonymous read", []core.Protocol{core.ProtocolNPM}, nil, npmRead, nil},
		{"on: anonymous write", []core.Protocol{core.ProtocolNPM}, nil, npmWrite, core.ErrUnauthorized},
		{"on: anonymous delete", []core.Protocol{core.ProtocolNPM}, nil, npmDelete, core.ErrUnauthorized},
		{"on for npm: anonymous pypi read", []core.Protocol{core.ProtocolNPM}, nil, pypiRead, core.ErrUnauthorized},
		// Credentials never give less than none.
		{"on: other-protocol token reads", []core.Protocol{core.ProtocolNPM}, pypiOnly, npmRead, nil},
		{"on: other-protocol token writes", []core.Protocol{core.ProtocolNPM}, pypiOnly, npmWrite, core.ErrForbidden},
		{"off: other-protocol token reads", nil, pypiOnly, npmRead, core.ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newManager(t, p, tt.anonymous...)
			err := m.Authorize(ctx, tt.p, tt.want)
			if tt.err == nil && err != nil || !errors.Is(err, tt.err) {
				t.Errorf("Authorize = %v, want %v", err, tt.err)
			}
			if got := m.Allowed(ctx, tt.p, tt.want); got != (tt.err == nil) {
				t.Errorf("Allowed = %v", got)
			}
		})
	}
	m := newManager(t, p, core.ProtocolNPM)
	if !m.AnonymousRead(core.ProtocolNPM) || m.AnonymousRead(core.ProtocolPyPI) {
		t.Error("AnonymousRead reports the wrong protocols")
	}
}

func TestManagerCreateTokenNarrows(t *testing.T) {
	ctx := t.Context()
	p := newMemoryProvider(t, core.DefaultAuthOptions{Users: fixtureUsers()})
	m := newManager(t, p)
	login, err := m.Login(ctx, core.ProtocolNPM, "alice", alicePassword)
	if err != nil {
		t.Fatal(err)
	}
	// Tokens of alice to create new tokens with.
	mk := func(opts core.TokenOptions) *core.Principal {
		tok, _, err := p.CreateToken(ctx, "alice", opts)
		if err != nil {
			t.Fatal(err)
		}
		pr, err := p.ValidateToken(ctx, tok, "")
		if err != nil {
			t.Fatal(err)
		}
		return pr
	}
	readOnly := mk(core.TokenOptions{ReadOnly: true})
	npmOnly := mk(core.TokenOptions{Protocols: []core.Protocol{core.ProtocolNPM}})
	scoped := mk(core.TokenOptions{Scopes: []core.Scope{core.MustParseScope("npm:package:@team/*:write")}})
	expiring := mk(core.TokenOptions{TTL: time.Hour})

	tests := []struct {
		name      string
		p         *core.Principal
		opts      core.TokenOptions
		readOnly  bool
		protocols []core.Protocol
		scopes    []string
		maxTTL    time.Duration // 0: does not expire
		err       error
	}{
		{"password login: the user's scopes", login, core.TokenOptions{}, false, nil, []string{"*:*:*:*"}, 0, nil},
		{"read-only stays read-only", readOnly, core.TokenOptions{}, true, nil, []string{"*:*:*:*"}, 0, nil},
		{"protocols inherited", npmOnly, core.TokenOptions{}, false, []core.Protocol{core.ProtocolNPM}, []string{"*:*:*:*"}, 0, nil},
		{"protocols intersected", npmOnly, core.TokenOptions{Protocols: []core.Protocol{core.ProtocolNPM, core.ProtocolPyPI}},
			false, []core.Protocol{core.ProtocolNPM}, []string{"*:*:*:*"}, 0, nil},
		{"protocols disjoint", npmOnly, core.TokenOptions{Protocols: []core.Protocol{core.ProtocolPyPI}},
			false, nil, nil, 0, core.ErrForbidden},
		{"scopes inherited", scoped, core.TokenOptions{}, false, nil, []string{"npm:package:@team/*:write"}, 0, nil},
		{"scopes narrowed", scoped, core.TokenOptions{Scopes: []core.Scope{
			core.MustParseScope("npm:package:@team/app:read"), core.MustParseScope("npm:package:*:write")}},
			false, nil, []string{"npm:package:@team/app:read"}, 0, nil},
		{"expiry capped", expiring, core.TokenOptions{TTL: 48 * time.Hour}, false, nil, []string{"*:*:*:*"}, time.Hour, nil},
		{"no expiry capped", expiring, core.TokenOptions{}, false, nil, []string{"*:*:*:*"}, time.Hour, nil},
		{"anonymous", nil, core.TokenOptions{}, false, nil, nil, 0, core.ErrUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, info, err := m.CreateToken(ctx, tt.p, tt.opts)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Errorf("CreateToken = %+v, %v; want %v", info, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if info.ReadOnly != tt.readOnly || !slices.Equal(info.Protocols, tt.protocols) || !slices.Equal(info.Scopes, tt.scopes) {
				t.Errorf("token %+v", info)
			}
			switch {
			case tt.maxTTL == 0 && !info.ExpiresAt.IsZero():
				t.Errorf("expires at %v", info.ExpiresAt)
			case tt.maxTTL > 0 && (info.ExpiresAt.IsZero() || time.Until(info.ExpiresAt) > tt.maxTTL):
				t.Errorf("expires at %v, want within %v", info.ExpiresAt, tt.maxTTL)
			}
		})
	}
	t.Run("bearer JWT", func(t *testing.T) {
		jwtTok, _, _, err := m.IssueBearer(login, nil, testAudience)
		if err != nil {
			t.Fatal(err)
		}
		bearer, err := m.ParseBearer(jwtTok, testAudience)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := m.CreateToken(ctx, bearer, core.TokenOptions{}); !errors.Is(err, core.ErrUnauthorized) {
			t.Errorf("CreateToken with a bearer JWT: %v, want ErrUnauthorized", err)
		}
	})
	if m.Provider() != core.AuthProvider(p) {
		t.Error("Provider() is not the provider")
	}
}

// BenchmarkAuthorize is the per-request cost of an opaque token: parse the
// header, look the token up, authorize a write.
func BenchmarkAuthorize(b *testing.B) {
	for _, kind := range providerKinds() {
		b.Run(kind.name, func(b *testing.B) {
			ctx := b.Context()
			p := kind.make(b)
			m := newManager(b, p)
			tok, _, err := p.CreateToken(ctx, "alice", core.TokenOptions{
				Scopes: []core.Scope{core.MustParseScope("npm:package:@team/*:write")},
			})
			if err != nil {
				b.Fatal(err)
			}
			h := http.Header{"Authorization": {"Bearer " + tok}}
			want := core.NewScope(core.ProtocolNPM, "package", "@team/app", core.ActionWrite)
			b.ReportAllocs()
			for b.Loop() {
				pr, err := m.Identify(ctx, core.ProtocolNPM, h, "")
				if err != nil {
					b.Fatal(err)
				}
				if err := m.Authorize(ctx, pr, want); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseBearer is the per-request cost of an OCI bearer JWT.
func BenchmarkParseBearer(b *testing.B) {
	m := newJWTManager(b)
	granted := []core.Scope{core.MustParseScope("oci:repository:team/app:read"), core.MustParseScope("oci:repository:team/app:write")}
	tok, _, _, err := m.IssueBearer(&core.Principal{UserID: "alice"}, granted, testAudience)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.ParseBearer(tok, testAudience); err != nil {
			b.Fatal(err)
		}
	}
}
