package core_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

func TestTokenLifecycle(t *testing.T) {
	for _, kind := range providerKinds() {
		t.Run(kind.name, func(t *testing.T) {
			ctx := t.Context()
			p := kind.make(t)
			tok, info, err := p.CreateToken(ctx, "alice", core.TokenOptions{Name: "ci"})
			if err != nil {
				t.Fatal(err)
			}
			if info.ID != core.TokenID(tok) || info.UserID != "alice" || info.Name != "ci" || info.CreatedAt.IsZero() {
				t.Errorf("info %+v", info)
			}
			if !strings.HasPrefix(tok, "srt_") || len(tok) < 40 {
				t.Errorf("token %q", tok)
			}
			pr, err := p.ValidateToken(ctx, tok, core.ProtocolNPM)
			if err != nil {
				t.Fatal(err)
			}
			if pr.UserID != "alice" || pr.TokenID != info.ID || pr.ReadOnly ||
				!slices.Equal(scopeStrings(pr.Scopes), []string{"*:*:*:*"}) {
				t.Errorf("principal %+v", pr)
			}
			list, err := p.ListTokens(ctx, "alice")
			if err != nil || len(list) != 1 || list[0].ID != info.ID {
				t.Fatalf("ListTokens(alice) = %+v, %v", list, err)
			}
			if list, err := p.ListTokens(ctx, "reader"); err != nil || len(list) != 0 || list == nil {
				t.Errorf("ListTokens(reader) = %#v, %v; want an empty list", list, err)
			}
			// Only the owner can revoke.
			if err := p.RevokeToken(ctx, "reader", info.ID); !errors.Is(err, core.ErrNotFound) {
				t.Errorf("revoke by another user: %v", err)
			}
			for _, bad := range []string{"", "x", "../../etc", strings.ToUpper(info.ID), info.ID + "0"} {
				if err := p.RevokeToken(ctx, "alice", bad); !errors.Is(err, core.ErrNotFound) {
					t.Errorf("RevokeToken(%q) = %v, want ErrNotFound", bad, err)
				}
			}
			if err := p.RevokeToken(ctx, "alice", info.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := p.ValidateToken(ctx, tok, ""); !errors.Is(err, core.ErrUnauthorized) {
				t.Errorf("revoked token: %v, want ErrUnauthorized", err)
			}
			if err := p.RevokeToken(ctx, "alice", info.ID); !errors.Is(err, core.ErrNotFound) {
				t.Errorf("second revoke: %v, want ErrNotFound", err)
			}
			for _, bad := range []string{"", "srt_unknown", tok + "x"} {
				if _, err := p.ValidateToken(ctx, bad, ""); !errors.Is(err, core.ErrUnauthorized) {
					t.Errorf("ValidateToken(%q) = %v, want ErrUnauthorized", bad, err)
				}
			}
		})
	}
}

func TestTokenListNewestFirst(t *testing.T) {
	for _, kind := range providerKinds() {
		t.Run(kind.name, func(t *testing.T) {
			p := kind.make(t)
			var ids []string
			for range 3 {
				_, info, err := p.CreateToken(t.Context(), "alice", core.TokenOptions{})
				if err != nil {
					t.Fatal(err)
				}
				ids = append([]string{info.ID}, ids...)
			}
			list, err := p.ListTokens(t.Context(), "alice")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, info := range list {
				got = append(got, info.ID)
			}
			if !slices.Equal(got, ids) {
				t.Errorf("ListTokens order %v, want %v", got, ids)
			}
		})
	}
}

func TestTokenRestrictions(t *testing.T) {
	for _, kind := range providerKinds() {
		t.Run(kind.name, func(t *testing.T) {
			ctx := t.Context()
			p := kind.make(t)
			m := newManager(t, p)
			pkg := func(proto core.Protocol, a core.Action) core.Scope { return core.NewScope(proto, "package", "x", a) }

			ro, _, err := p.CreateToken(ctx, "alice", core.TokenOptions{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			pr, err := p.ValidateToken(ctx, ro, core.ProtocolNPM)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Authorize(ctx, pr, pkg(core.ProtocolNPM, core.ActionRead)); err != nil {
				t.Errorf("read-only token cannot read: %v", err)
			}
			for _, a := range []core.Action{core.ActionWrite, core.ActionDelete} {
				if err := m.Authorize(ctx, pr, pkg(core.ProtocolNPM, a)); !errors.Is(err, core.ErrForbidden) {
					t.Errorf("read-only token %s: %v, want ErrForbidden", a, err)
				}
			}

			npmOnly, _, err := p.CreateToken(ctx, "alice", core.TokenOptions{Protocols: []core.Protocol{core.ProtocolNPM}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.ValidateToken(ctx, npmOnly, core.ProtocolPyPI); !errors.Is(err, core.ErrUnauthorized) {
				t.Errorf("npm token on pypi: %v, want ErrUnauthorized", err)
			}
			pr, err = p.ValidateToken(ctx, npmOnly, core.ProtocolNPM)
			if err != nil {
				t.Fatalf("npm token on npm: %v", err)
			}
			if err := m.Authorize(ctx, pr, pkg(core.ProtocolNPM, core.ActionWrite)); err != nil {
				t.Errorf("npm token writing npm: %v", err)
			}
			// A principal of that token asking about another protocol.
			if err := m.Authorize(ctx, pr, pkg(core.ProtocolPyPI, core.ActionRead)); !errors.Is(err, core.ErrForbidden) {
				t.Errorf("npm token reading pypi: %v, want ErrForbidden", err)
			}
		})
	}
}

func TestStaticTokens(t *testing.T) {
	ctx := t.Context()
	p := newMemoryProvider(t, core.DefaultAuthOptions{
		Users: fixtureUsers(),
		Tokens: []core.StaticToken{
			{Token: "admin-token", UserID: "admin"},                                              // unknown user: everything
			{Token: "reader-token", UserID: "reader"},                                            // the user's scopes
			{Token: "ci-token", UserID: "ci", Scopes: []string{"pypi:*:*:write"}},                // its own scopes
			{Token: "ro-token", UserID: "alice", ReadOnly: true},                                 // read-only
			{Token: "audit-token", UserID: "audit", Scopes: []string{"*:*:*:*"}, ReadOnly: true}, // read-only user
		},
	})
	m := newManager(t, p)
	tests := []struct {
		token string
		want  core.Scope
		err   error
	}{
		{"admin-token", core.NewScope(core.ProtocolOCI, "repository", "a/b", core.ActionDelete), nil},
		{"reader-token", core.NewScope(core.ProtocolNPM, "package", "x", core.ActionRead), nil},
		{"reader-token", core.NewScope(core.ProtocolNPM, "package", "x", core.ActionWrite), core.ErrForbidden},
		{"ci-token", core.NewScope(core.ProtocolPyPI, "package", "x", core.ActionWrite), nil},
		{"ci-token", core.NewScope(core.ProtocolNPM, "package", "x", core.ActionRead), core.ErrForbidden},
		{"ro-token", core.NewScope(core.ProtocolNPM, "package", "x", core.ActionRead), nil},
		{"ro-token", core.NewScope(core.ProtocolNPM, "package", "x", core.ActionWrite), core.ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.token+" "+tt.want.String(), func(t *testing.T) {
			pr, err := p.ValidateToken(ctx, tt.token, core.Protocol(tt.want.Protocol))
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Authorize(ctx, pr, tt.want); !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Errorf("Authorize = %v, want %v", err, tt.err)
			}
		})
	}
	if err := p.RevokeToken(ctx, "admin", core.TokenID("admin-token")); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("revoking a static token: %v, want ErrForbidden", err)
	}
	if list, _ := p.ListTokens(ctx, "admin"); len(list) != 0 {
		t.Errorf("static tokens are listed: %+v", list)
	}
	// A user known only from a static token holds what the token grants,
	// not everything.
	_, info, err := p.CreateToken(ctx, "ci", core.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(info.Scopes, []string{"pypi:*:*:write"}) {
		t.Errorf("token for static user ci has scopes %v", info.Scopes)
	}
	// One known only from a read-only static token holds read access only,
	// so a token made for it cannot write.
	_, info, err = p.CreateToken(ctx, "audit", core.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(info.Scopes, []string{"*:*:*:read"}) {
		t.Errorf("token for read-only static user has scopes %v", info.Scopes)
	}
}

func TestNewDefaultAuthProviderRefuses(t *testing.T) {
	h := quickHash(alicePassword)
	tests := []struct {
		name string
		opts core.DefaultAuthOptions
	}{
		{"user without name", core.DefaultAuthOptions{Users: []core.UserConfig{{PasswordHash: h}}}},
		{"user without password", core.DefaultAuthOptions{Users: []core.UserConfig{{Username: "u"}}}},
		{"user twice", core.DefaultAuthOptions{Users: []core.UserConfig{{Username: "u", PasswordHash: h}, {Username: "u", PasswordHash: h}}}},
		{"bad user scope", core.DefaultAuthOptions{Users: []core.UserConfig{{Username: "u", PasswordHash: h, Scopes: []string{"x"}}}}},
		{"token without user", core.DefaultAuthOptions{Tokens: []core.StaticToken{{Token: "t"}}}},
		{"empty token", core.DefaultAuthOptions{Tokens: []core.StaticToken{{UserID: "u"}}}},
		{"token twice", core.DefaultAuthOptions{Tokens: []core.StaticToken{{Token: "t", UserID: "u"}, {Token: "t", UserID: "v"}}}},
		{"bad token scope", core.DefaultAuthOptions{Tokens: []core.StaticToken{{Token: "t", UserID: "u", Scopes: []string{"x:y"}}}}},
		{"bad storage prefix", core.DefaultAuthOptions{
			Storage: core.NewStorage(memory.New(), core.StorageHooks{}), StoragePrefix: "../tokens/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := core.NewDefaultAuthProvider(tt.opts); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func TestCreateTokenCannotExceedUser(t *testing.T) {
	p := newMemoryProvider(t, core.DefaultAuthOptions{Users: []core.UserConfig{{
		Username:     "team",
		PasswordHash: quickHash(alicePassword),
		Scopes: []string{
			"npm:package:@team/*:write",
			"oci:repository:team/?:read",
			"maven:artifact:com.example:*:delete",
		},
	}}})
	tests := []struct {
		request string
		kept    bool
	}{
		{"npm:package:@team/*:write", true},
		{"npm:package:@team/*:read", true},
		{"npm:package:@team/app:write", true},
		{"npm:package:@team/app-*:write", true},
		{"npm:package:@team/*:delete", false},
		{"npm:package:@team/*:*", false},
		{"npm:package:*:read", false},
		{"npm:package:@*:read", false},
		{"npm:package:@other/app:read", false},
		{"*:package:@team/app:read", false},
		{"npm:*:@team/app:read", false},
		{"pypi:package:@team/app:read", false},
		// The user's "?" matches one character; "*" (one character long
		// itself) must not pass for a subset of it.
		{"oci:repository:team/?:read", true},
		{"oci:repository:team/a:read", true},
		{"oci:repository:team/*:read", false},
		{"oci:repository:team/[ab]:read", false},
		{"maven:artifact:com.example:lib:read", true},
		{"maven:artifact:com.example:*:delete", true},
		{"maven:artifact:com.example:*:write", false},
		{"maven:artifact:com.*:read", false},
	}
	for _, tt := range tests {
		t.Run(tt.request, func(t *testing.T) {
			_, info, err := p.CreateToken(t.Context(), "team", core.TokenOptions{Scopes: []core.Scope{core.MustParseScope(tt.request)}})
			if err != nil {
				t.Fatal(err)
			}
			kept := slices.Equal(info.Scopes, []string{tt.request})
			if kept != tt.kept || (!kept && len(info.Scopes) != 0) {
				t.Errorf("requested %s, token got %v", tt.request, info.Scopes)
			}
		})
	}
	t.Run("no scopes requested: the user's", func(t *testing.T) {
		_, info, err := p.CreateToken(t.Context(), "team", core.TokenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(info.Scopes) != 3 {
			t.Errorf("scopes %v", info.Scopes)
		}
	})
	for _, user := range []string{"", "nobody"} {
		if _, _, err := p.CreateToken(t.Context(), user, core.TokenOptions{}); !errors.Is(err, core.ErrInvalidArgument) {
			t.Errorf("CreateToken for %q: %v, want ErrInvalidArgument", user, err)
		}
	}
}

func TestAuthenticate(t *testing.T) {
	ctx := t.Context()
	p := newMemoryProvider(t, core.DefaultAuthOptions{Users: fixtureUsers()})
	tests := []struct {
		user, password string
		ok             bool
	}{
		{"alice", alicePassword, true},
		{"alice", alicePassword, true}, // from the cache
		{"alice", "wrong", false},
		{"alice", alicePassword + " ", false},
		{"alice", "", false},
		{"alice", readerPassword, false}, // another user's password
		{"reader", readerPassword, true},
		{"nobody", alicePassword, false},
		{"", "", false},
		{"alice", alicePassword, true}, // wrong attempts did not evict it
	}
	for _, tt := range tests {
		pr, err := p.Authenticate(ctx, tt.user, tt.password)
		switch {
		case tt.ok && err != nil:
			t.Errorf("Authenticate(%q, %q) = %v", tt.user, tt.password, err)
		case tt.ok && (pr.UserID != tt.user || pr.TokenID != ""):
			t.Errorf("principal %+v", pr)
		case !tt.ok && !errors.Is(err, core.ErrUnauthorized):
			t.Errorf("Authenticate(%q, %q) = %+v, %v; want ErrUnauthorized", tt.user, tt.password, pr, err)
		}
	}
}

// TestAuthenticateCacheRace checks the verified-password cache under
// concurrent right and wrong logins (run with -race).
func TestAuthenticateCacheRace(t *testing.T) {
	p := newMemoryProvider(t, core.DefaultAuthOptions{Users: fixtureUsers()})
	ctx := t.Context()
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			pw, ok := alicePassword, true
			if i%4 == 3 {
				pw, ok = "wrong", false
			}
			_, err := p.Authenticate(ctx, "alice", pw)
			if ok != (err == nil) {
				errs <- errors.New("unexpected result for " + pw)
				return
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
