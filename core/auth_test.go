package core_test

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// The fixture users' passwords.
const (
	alicePassword  = "alice-secret"
	readerPassword = "reader-secret"
)

// quickHash hashes a password in HashPassword's format with few PBKDF2
// iterations (CheckPassword honours the count in the hash), so that tests
// under -race do not spend seconds per login. The real cost is tested in
// password_test.go.
func quickHash(password string) string {
	salt := []byte("fixture-salt-" + password)
	key, err := pbkdf2.Key(sha256.New, password, salt, 1000, 32)
	if err != nil {
		panic(err)
	}
	enc := base64.RawStdEncoding
	return "pbkdf2-sha256$1000$" + enc.EncodeToString(salt) + "$" + enc.EncodeToString(key)
}

// fixtureUsers are alice, who holds everything, and reader, who may read
// npm packages only.
func fixtureUsers() []core.UserConfig {
	return []core.UserConfig{
		{Username: "alice", PasswordHash: quickHash(alicePassword)},
		{Username: "reader", PasswordHash: quickHash(readerPassword), Scopes: []string{"npm:*:*:read"}},
	}
}

// newMemoryProvider builds a provider from opts, keeping tokens in memory
// unless opts.Storage is set.
func newMemoryProvider(t testing.TB, opts core.DefaultAuthOptions) *core.DefaultAuthProvider {
	t.Helper()
	p, err := core.NewDefaultAuthProvider(opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// providerKinds are the two token stores, each with the fixture users: in
// memory, and persisted in a Storage over the memory backend.
func providerKinds() []struct {
	name string
	make func(t testing.TB) *core.DefaultAuthProvider
} {
	return []struct {
		name string
		make func(t testing.TB) *core.DefaultAuthProvider
	}{
		{"memory", func(t testing.TB) *core.DefaultAuthProvider {
			return newMemoryProvider(t, core.DefaultAuthOptions{Users: fixtureUsers()})
		}},
		{"storage", func(t testing.TB) *core.DefaultAuthProvider {
			st := core.NewStorage(memory.New(), core.StorageHooks{})
			return newMemoryProvider(t, core.DefaultAuthOptions{Users: fixtureUsers(), Storage: st})
		}},
	}
}

// newManager wraps p in an AuthManager with anonymous read for the given
// protocols.
func newManager(t testing.TB, p core.AuthProvider, anonymous ...core.Protocol) *core.AuthManager {
	t.Helper()
	m, err := core.NewAuthManager(core.AuthOptions{Provider: p, AnonymousRead: anonymous, JWTSecret: testJWTSecret})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestNewAuthManagerNeedsProvider(t *testing.T) {
	if _, err := core.NewAuthManager(core.AuthOptions{}); err == nil {
		t.Error("NewAuthManager without a provider succeeded")
	}
}

func TestPrincipalAnonymous(t *testing.T) {
	tests := []struct {
		p    *core.Principal
		want bool
	}{
		{nil, true},
		{&core.Principal{}, true},
		{&core.Principal{UserID: "alice"}, false},
	}
	for _, tt := range tests {
		if got := tt.p.Anonymous(); got != tt.want {
			t.Errorf("%+v.Anonymous() = %v", tt.p, got)
		}
	}
}

func TestNewAuthManagerRefusesShortJWTSecret(t *testing.T) {
	p, err := core.NewDefaultAuthProvider(core.DefaultAuthOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		secret []byte
		ok     bool
	}{
		{"empty: random", nil, true},
		{"one byte", []byte("x"), false},
		{"31 bytes", make([]byte, 31), false},
		{"32 bytes", make([]byte, 32), true},
		{"64 bytes", make([]byte, 64), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := core.NewAuthManager(core.AuthOptions{Provider: p, JWTSecret: tc.secret})
			if (err == nil) != tc.ok {
				t.Fatalf("error %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "JWTSecret") {
				t.Errorf("error %q does not name JWTSecret", err)
			}
		})
	}
}
