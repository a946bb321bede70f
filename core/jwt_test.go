package core_test

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/smartregistry/smartregistry/core"
)

var testJWTSecret = []byte("0123456789abcdef0123456789abcdef")

const testAudience = "registry.example"

func newJWTManager(t testing.TB) *core.AuthManager {
	t.Helper()
	m, err := core.NewAuthManager(core.AuthOptions{
		Provider:  newMemoryProvider(t, core.DefaultAuthOptions{}),
		JWTSecret: testJWTSecret,
		JWTIssuer: "test-issuer",
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestBearerRoundTrip(t *testing.T) {
	m := newJWTManager(t)
	p := &core.Principal{UserID: "alice", TokenID: "0123456789abcdef", Scopes: []core.Scope{core.MustParseScope("*:*:*:*")}}
	granted := []core.Scope{core.MustParseScope("oci:repository:team/app:read")}
	tok, ttl, issued, err := m.IssueBearer(p, granted, testAudience)
	if err != nil {
		t.Fatal(err)
	}
	if ttl != 15*time.Minute || time.Since(issued) > time.Minute {
		t.Errorf("ttl %v issued %v", ttl, issued)
	}
	got, err := m.ParseBearer(tok, testAudience)
	if err != nil {
		t.Fatal(err)
	}
	if got.UserID != "alice" || got.TokenID != p.TokenID {
		t.Errorf("principal %+v", got)
	}
	if !slices.Equal(scopeStrings(got.Scopes), []string{"oci:repository:team/app:read"}) {
		t.Errorf("scopes %v, want exactly the granted one", got.Scopes)
	}
	// The principal holds exactly what was granted, not what alice holds.
	ctx := t.Context()
	if err := m.Authorize(ctx, got, core.NewScope(core.ProtocolOCI, "repository", "team/app", core.ActionRead)); err != nil {
		t.Errorf("granted read refused: %v", err)
	}
	for _, want := range []core.Scope{
		core.NewScope(core.ProtocolOCI, "repository", "team/app", core.ActionWrite),
		core.NewScope(core.ProtocolOCI, "repository", "team/other", core.ActionRead),
	} {
		if err := m.Authorize(ctx, got, want); !errors.Is(err, core.ErrForbidden) {
			t.Errorf("Authorize(%s) = %v, want ErrForbidden", want, err)
		}
	}
	// The same token through the Authorization header.
	h := http.Header{"Authorization": {"Bearer " + tok}}
	viaHeader, err := m.Identify(ctx, core.ProtocolOCI, h, testAudience)
	if err != nil || viaHeader.UserID != "alice" {
		t.Fatalf("Identify = %+v, %v", viaHeader, err)
	}
}

func TestBearerAnonymousAndExpiringPrincipal(t *testing.T) {
	m := newJWTManager(t)
	tok, _, _, err := m.IssueBearer(nil, []core.Scope{core.MustParseScope("oci:repository:pub:read")}, testAudience)
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.ParseBearer(tok, testAudience)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Anonymous() {
		t.Error("a token issued to nobody is not anonymous")
	}
	if err := m.Authorize(t.Context(), p, core.NewScope(core.ProtocolOCI, "repository", "pub", core.ActionRead)); err != nil {
		t.Errorf("granted anonymous read refused: %v", err)
	}
	err = m.Authorize(t.Context(), p, core.NewScope(core.ProtocolOCI, "repository", "pub", core.ActionWrite))
	if !errors.Is(err, core.ErrUnauthorized) {
		t.Errorf("anonymous bearer write: %v, want ErrUnauthorized", err)
	}

	// A bearer token never outlives the credential it was issued for.
	short := &core.Principal{UserID: "bob", ExpiresAt: time.Now().Add(90 * time.Second)}
	_, ttl, _, err := m.IssueBearer(short, nil, testAudience)
	if err != nil {
		t.Fatal(err)
	}
	if ttl > 91*time.Second || ttl < 80*time.Second {
		t.Errorf("ttl %v, want about 90s", ttl)
	}
	gone := &core.Principal{UserID: "bob", ExpiresAt: time.Now().Add(-time.Hour)}
	if _, ttl, _, _ := m.IssueBearer(gone, nil, testAudience); ttl != 0 {
		t.Errorf("ttl for an expired credential %v, want 0", ttl)
	}
}

// claims are the registered claims of a hand-made bearer token.
func claims(mod func(*jwt.MapClaims)) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{
		"iss":    "test-issuer",
		"aud":    testAudience,
		"sub":    "mallory",
		"iat":    now.Unix(),
		"nbf":    now.Unix(),
		"exp":    now.Add(time.Minute).Unix(),
		"scopes": []string{"*:*:*:*"},
	}
	if mod != nil {
		mod(&c)
	}
	return c
}

func TestParseBearerRefuses(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	hs256 := func(c jwt.MapClaims, secret []byte) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	now := time.Now()
	tests := []struct {
		name  string
		token func() string
	}{
		{"control: valid (must be accepted)", nil},
		{"expired", func() string {
			return hs256(claims(func(c *jwt.MapClaims) { (*c)["exp"] = now.Add(-time.Minute).Unix() }), testJWTSecret)
		}},
		{"no expiry", func() string {
			return hs256(claims(func(c *jwt.MapClaims) { delete(*c, "exp") }), testJWTSecret)
		}},
		{"not yet valid", func() string {
			return hs256(claims(func(c *jwt.MapClaims) { (*c)["nbf"] = now.Add(time.Minute).Unix() }), testJWTSecret)
		}},
		{"wrong issuer", func() string {
			return hs256(claims(func(c *jwt.MapClaims) { (*c)["iss"] = "someone-else" }), testJWTSecret)
		}},
		{"no issuer", func() string {
			return hs256(claims(func(c *jwt.MapClaims) { delete(*c, "iss") }), testJWTSecret)
		}},
		{"wrong audience", func() string {
			return hs256(claims(func(c *jwt.MapClaims) { (*c)["aud"] = "other.example" }), testJWTSecret)
		}},
		{"no audience", func() string {
			return hs256(claims(func(c *jwt.MapClaims) { delete(*c, "aud") }), testJWTSecret)
		}},
		{"forged: another secret", func() string {
			return hs256(claims(nil), []byte("not-the-secret-not-the-secret!!!"))
		}},
		{"alg none", func() string {
			s, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
		{"HS512 with the right secret", func() string {
			s, err := jwt.NewWithClaims(jwt.SigningMethodHS512, claims(nil)).SignedString(testJWTSecret)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
		{"RS256", func() string {
			s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims(nil)).SignedString(rsaKey)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
		{"bad scope", func() string {
			return hs256(claims(func(c *jwt.MapClaims) { (*c)["scopes"] = []string{"admin"} }), testJWTSecret)
		}},
		{"garbage", func() string { return "a.b.c" }},
		{"empty", func() string { return "" }},
	}
	m := newJWTManager(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.token == nil {
				if _, err := m.ParseBearer(hs256(claims(nil), testJWTSecret), testAudience); err != nil {
					t.Fatalf("the control token is refused, so the cases prove nothing: %v", err)
				}
				return
			}
			tok := tt.token()
			p, err := m.ParseBearer(tok, testAudience)
			if !errors.Is(err, core.ErrUnauthorized) {
				t.Fatalf("ParseBearer = %+v, %v; want ErrUnauthorized", p, err)
			}
			// The same through a request header.
			h := http.Header{"Authorization": {"Bearer " + tok}}
			if _, err := m.Identify(t.Context(), core.ProtocolOCI, h, testAudience); !errors.Is(err, core.ErrUnauthorized) {
				t.Errorf("Identify = %v, want ErrUnauthorized", err)
			}
		})
	}
	// An empty expected audience accepts nothing.
	if _, err := m.ParseBearer(hs256(claims(nil), testJWTSecret), ""); !errors.Is(err, core.ErrUnauthorized) {
		t.Errorf("ParseBearer with no audience: %v", err)
	}
}

func TestBearerSecretIsPerManagerWhenUnset(t *testing.T) {
	provider := newMemoryProvider(t, core.DefaultAuthOptions{})
	a, _ := core.NewAuthManager(core.AuthOptions{Provider: provider})
	b, _ := core.NewAuthManager(core.AuthOptions{Provider: provider})
	tok, _, _, err := a.IssueBearer(&core.Principal{UserID: "u"}, nil, testAudience)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.ParseBearer(tok, testAudience); err != nil {
		t.Errorf("own token refused: %v", err)
	}
	if _, err := b.ParseBearer(tok, testAudience); !errors.Is(err, core.ErrUnauthorized) {
		t.Errorf("token of another random secret: %v", err)
	}
}

func scopeStrings(list []core.Scope) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = s.String()
	}
	return out
}

// TestBearerRequested checks the req claim: the scopes a token request
// asked for travel next to the granted ones, so a handler can tell a scope
// refused by the token endpoint from one never asked for.
func TestBearerRequested(t *testing.T) {
	m := newJWTManager(t)
	scope := func(name string, a core.Action) core.Scope {
		return core.NewScope(core.ProtocolOCI, "repository", name, a)
	}
	requested := []core.Scope{scope("team/app", core.ActionRead), scope("team/app", core.ActionWrite),
		scope("other", core.ActionRead), scope("push-only", core.ActionWrite), core.MustParseScope("oci:repository:all/*:*")}
	granted := []core.Scope{scope("team/app", core.ActionRead)}
	tok, _, _, err := m.IssueBearerRequest(&core.Principal{UserID: "alice"}, requested, granted, testAudience)
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.ParseBearer(tok, testAudience)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(scopeStrings(p.Requested), scopeStrings(requested)) || !slices.Equal(scopeStrings(p.Scopes), scopeStrings(granted)) {
		t.Fatalf("requested %v granted %v", p.Requested, p.Scopes)
	}
	old, _, _, err := m.IssueBearer(&core.Principal{UserID: "alice"}, granted, testAudience)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := m.ParseBearer(old, testAudience)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		p    *core.Principal
		want core.Scope
		ok   bool
	}{
		{"asked and granted", p, scope("team/app", core.ActionRead), true},
		{"asked and refused", p, scope("team/app", core.ActionWrite), true},
		{"asked for another repository", p, scope("other", core.ActionRead), true},
		{"never asked for delete", p, scope("team/app", core.ActionDelete), false},
		{"a request for write is not one for read", p, scope("push-only", core.ActionRead), false},
		{"pattern and * action", p, scope("all/x/y", core.ActionDelete), true},
		{"never asked for that repository", p, scope("secret", core.ActionRead), false},
		{"another protocol", p, core.NewScope(core.ProtocolNPM, "repository", "other", core.ActionRead), false},
		{"token without req claim", plain, scope("team/app", core.ActionRead), false},
		{"not a bearer token", &core.Principal{UserID: "alice", Requested: requested}, scope("other", core.ActionRead), false},
		{"anonymous", nil, scope("other", core.ActionRead), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.AskedFor(tt.want); got != tt.ok {
				t.Errorf("AskedFor(%s) = %v, want %v", tt.want, got, tt.ok)
			}
		})
	}
	bad, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(func(c *jwt.MapClaims) {
		(*c)["req"] = []string{"not a scope"}
	})).SignedString(testJWTSecret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.ParseBearer(bad, testAudience); !errors.Is(err, core.ErrUnauthorized) {
		t.Errorf("bad req claim: %v, want ErrUnauthorized", err)
	}
}
