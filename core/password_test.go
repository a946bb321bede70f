package core_test

import (
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
)

// TestHashPassword runs the real PBKDF2 cost (600,000 iterations, seconds
// under -race), so it makes only the hashes and checks it needs; wrong
// passwords are tested on quick hashes in TestCheckPassword.
func TestHashPassword(t *testing.T) {
	a, err := core.HashPassword("same")
	if err != nil {
		t.Fatal(err)
	}
	b, err := core.HashPassword("same")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a, "pbkdf2-sha256$600000$") || strings.Contains(a, "same") {
		t.Errorf("hash %q", a)
	}
	if a == b {
		t.Error("the same password hashed twice gave the same hash: no salt")
	}
	if !core.CheckPassword(b, "same") {
		t.Error("round trip failed")
	}
}

func TestCheckPassword(t *testing.T) {
	h := quickHash(alicePassword)
	tests := []struct {
		name, hash, password string
		ok                   bool
	}{
		{"right", h, alicePassword, true},
		{"wrong", h, "alice-secreT", false},
		{"empty", h, "", false},
		{"prefix", h, alicePassword[:5], false},
		{"longer", h, alicePassword + "x", false},
		{"other iteration count", strings.Replace(h, "$1000$", "$1001$", 1), alicePassword, false},
		{"other scheme", strings.Replace(h, "pbkdf2-sha256", "bcrypt", 1), alicePassword, false},
		{"too few parts", strings.Join(strings.Split(h, "$")[:3], "$"), alicePassword, false},
		{"zero iterations", strings.Replace(h, "$1000$", "$0$", 1), alicePassword, false},
		{"iterations not a number", strings.Replace(h, "$1000$", "$x$", 1), alicePassword, false},
		{"bad salt", strings.Replace(h, "$1000$", "$1000$!", 1), alicePassword, false},
		{"empty key", h[:strings.LastIndexByte(h, '$')+1], alicePassword, false},
		{"empty hash", "", alicePassword, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := core.CheckPassword(tt.hash, tt.password); got != tt.ok {
				t.Errorf("CheckPassword = %v, want %v", got, tt.ok)
			}
		})
	}
}

// TestClearTextPasswordIsHashed: a user configured with a clear-text
// password is hashed at start-up and logs in with it.
func TestClearTextPasswordIsHashed(t *testing.T) {
	p := newMemoryProvider(t, core.DefaultAuthOptions{Users: []core.UserConfig{{Username: "u", Password: "pw"}}})
	if _, err := p.Authenticate(t.Context(), "u", "pw"); err != nil {
		t.Fatal(err)
	}
}
