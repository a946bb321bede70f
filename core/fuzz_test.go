package core_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"path"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/smartregistry/smartregistry/core"
)

// FuzzParseScope: a scope that parses round-trips through String, is
// refused with ErrInvalidArgument otherwise, and allows itself when it has
// no pattern.
func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"npm:package:left-pad:read", "*:*:*:*", "oci:repository:team/*:write",
		"maven:artifact:com.example:lib:read", "npm:package:@team/*:delete", "pypi:package:{a,b}:read",
		"a:b:[:read", "::::", "a:b:c", "a:b:c:d e", "npm:package:x\x00:read"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := core.ParseScope(s)
		if err != nil {
			if !errors.Is(err, core.ErrInvalidArgument) {
				t.Fatalf("ParseScope(%q): error %v is not ErrInvalidArgument", s, err)
			}
			return
		}
		again, err := core.ParseScope(sc.String())
		if err != nil || again.String() != sc.String() || sc.String() != s {
			t.Fatalf("ParseScope(%q) = %q, which parses to %q, %v", s, sc.String(), again.String(), err)
		}
		if !strings.ContainsAny(sc.Name+sc.Protocol+sc.Type, "*?[{\\") && sc.Action != core.ActionAll && !sc.Allows(sc) {
			t.Fatalf("%q does not allow itself", s)
		}
	})
}

// FuzzParseCredentials: any Authorization header gives credentials of one
// kind, with the fields of that kind only; Basic round-trips.
func FuzzParseCredentials(f *testing.F) {
	for _, s := range []string{"", "Bearer abc", "bearer  abc ", "token x", "Basic " + base64.StdEncoding.EncodeToString([]byte("u:p:w")),
		"Basic !!!", "Basic", "rawtoken", "Digest a=b", "Basic " + base64.StdEncoding.EncodeToString([]byte("nouser"))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		c := core.ParseCredentials(http.Header{"Authorization": {v}})
		switch c.Kind {
		case core.CredentialNone:
			if strings.TrimSpace(v) != "" || c != (core.Credentials{}) {
				t.Fatalf("%q: none with %+v", v, c)
			}
		case core.CredentialBasic:
			if c.Token != "" {
				t.Fatalf("%q: basic with a token %+v", v, c)
			}
			if c.Username != "" || c.Password != "" {
				enc := base64.StdEncoding.EncodeToString([]byte(c.Username + ":" + c.Password))
				back := core.ParseCredentials(http.Header{"Authorization": {"Basic " + enc}})
				if back != c {
					t.Fatalf("%q: %+v does not round-trip (%+v)", v, c, back)
				}
			}
		case core.CredentialBearer, core.CredentialRaw:
			if c.Username != "" || c.Password != "" || c.Token != strings.TrimSpace(c.Token) {
				t.Fatalf("%q: token credentials %+v", v, c)
			}
		default:
			t.Fatalf("%q: unknown kind %d", v, c.Kind)
		}
	})
}

// FuzzValidateKey: a valid key is clean (path.Clean leaves it alone), has
// no empty, "." or ".." segment, no control character or backslash, and is
// a valid listing prefix with or without its trailing slash.
func FuzzValidateKey(f *testing.F) {
	for _, s := range []string{"npm/packages/left-pad/packument.json", "a", "a/b", "/a", "a/", "a//b", "a/./b", "a/../b",
		"..", ".hidden", "a/.b", "a\\b", "a\x00b", strings.Repeat("k", 1025)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if err := core.ValidateKey(key); err != nil {
			if !errors.Is(err, core.ErrInvalidArgument) {
				t.Fatalf("ValidateKey(%q): %v is not ErrInvalidArgument", key, err)
			}
			return
		}
		if len(key) == 0 || len(key) > 1024 || path.Clean(key) != key || strings.HasPrefix(key, "/") ||
			strings.ContainsAny(key, "\\\x00\x7f") || key[0] == '.' {
			t.Fatalf("ValidateKey accepted %q", key)
		}
		for seg := range strings.SplitSeq(key, "/") {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("ValidateKey accepted %q with segment %q", key, seg)
			}
		}
		if core.ValidatePrefix(key) != nil || core.ValidatePrefix(key+"/") != nil {
			t.Fatalf("valid key %q is not a valid prefix", key)
		}
	})
}

// FuzzParseBearer: any string is refused with ErrUnauthorized or parsed
// into a bearer principal with valid scopes; a token the manager issued
// round-trips to its subject and scopes, and one altered by a byte does not
// verify.
func FuzzParseBearer(f *testing.F) {
	p, err := core.NewDefaultAuthProvider(core.DefaultAuthOptions{})
	if err != nil {
		f.Fatal(err)
	}
	m, err := core.NewAuthManager(core.AuthOptions{Provider: p, JWTSecret: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		f.Fatal(err)
	}
	issued, _, _, err := m.IssueBearer(&core.Principal{UserID: "alice"},
		[]core.Scope{core.MustParseScope("oci:repository:team/app:read")}, "registry")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(issued, "alice", 0)
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "x", 3)
	f.Add("a.b.c", "", 1)
	f.Fuzz(func(t *testing.T, token, user string, flip int) {
		pr, err := m.ParseBearer(token, "registry")
		if err != nil {
			if !errors.Is(err, core.ErrUnauthorized) {
				t.Fatalf("ParseBearer(%q): %v is not ErrUnauthorized", token, err)
			}
		} else if pr == nil {
			t.Fatalf("ParseBearer(%q): no principal and no error", token)
		}
		if strings.ContainsFunc(user, func(r rune) bool { return r < 0x20 }) {
			return
		}
		tok, _, _, err := m.IssueBearer(&core.Principal{UserID: user}, []core.Scope{core.MustParseScope("oci:repository:x:read")}, "registry")
		if !utf8.ValidString(user) {
			if !errors.Is(err, core.ErrInvalidArgument) {
				t.Fatalf("a token was issued for the non-UTF-8 user %q: %v", user, err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		back, err := m.ParseBearer(tok, "registry")
		if err != nil || back.UserID != user || len(back.Scopes) != 1 || back.Scopes[0].String() != "oci:repository:x:read" {
			t.Fatalf("issued token for %q parses to %+v, %v", user, back, err)
		}
		if _, err := m.ParseBearer(tok, "elsewhere"); err == nil {
			t.Fatal("a token for another audience verified")
		}
		i := (flip%len(tok) + len(tok)) % len(tok)
		if c := tok[i]; c != '.' {
			altered := tok[:i] + string(c^1) + tok[i+1:]
			if back, err := m.ParseBearer(altered, "registry"); err == nil && (back.UserID != user || len(back.Scopes) != 1) {
				t.Fatalf("an altered token verified with different claims: %+v", back)
			}
		}
	})
}
