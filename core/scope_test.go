package core_test

import (
	"errors"
	"testing"

	"github.com/smartregistry/smartregistry/core"
)

func TestParseScope(t *testing.T) {
	tests := []struct {
		in                   string
		proto, typ, name, ac string
	}{
		{"npm:package:left-pad:read", "npm", "package", "left-pad", "read"},
		{"npm:package:@team/*:write", "npm", "package", "@team/*", "write"},
		{"*:*:*:*", "*", "*", "*", "*"},
		{"oci:repository:team/app:delete", "oci", "repository", "team/app", "delete"},
		// Maven names contain ":"; protocol and type are the first two
		// parts, the action the last.
		{"maven:artifact:com.example:lib:read", "maven", "artifact", "com.example:lib", "read"},
		{"maven:artifact:com.example:*:write", "maven", "artifact", "com.example:*", "write"},
		{"maven:artifact:a:b:c:d:*", "maven", "artifact", "a:b:c:d", "*"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			s, err := core.ParseScope(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if s.Protocol != tt.proto || s.Type != tt.typ || s.Name != tt.name || string(s.Action) != tt.ac {
				t.Errorf("ParseScope(%q) = %q %q %q %q", tt.in, s.Protocol, s.Type, s.Name, s.Action)
			}
			if s.String() != tt.in {
				t.Errorf("String() = %q, want %q", s.String(), tt.in)
			}
		})
	}
}

func TestParseScopeRefusesMalformed(t *testing.T) {
	for _, in := range []string{
		"",
		"npm",
		"npm:package",
		"npm:package:read",    // no name
		"npm:package::read",   // empty name
		":package:x:read",     // empty protocol
		"npm::x:read",         // empty type
		"npm:package:x:",      // empty action
		"npm:package:x:admin", // unknown action
		"npm:package:x:READ",  // actions are lower case
		"npm:package:x :read", // space
		"npm:package:x\n:read",
		"npm:package:[x:read", // bad pattern
		"npm:package:{x:read",
		"n*m:package:x:read", // only the name may be a pattern
		"npm:pack?:x:read",
	} {
		t.Run(in, func(t *testing.T) {
			if _, err := core.ParseScope(in); !errors.Is(err, core.ErrInvalidArgument) {
				t.Errorf("ParseScope(%q) error = %v, want ErrInvalidArgument", in, err)
			}
		})
	}
	if _, err := core.ParseScopes([]string{"npm:package:x:read", "bad"}); !errors.Is(err, core.ErrInvalidArgument) {
		t.Errorf("ParseScopes with one bad scope: error = %v", err)
	}
}

func TestMustParseScopePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustParseScope of a bad scope did not panic")
		}
	}()
	core.MustParseScope("bad")
}

func TestScopeAllows(t *testing.T) {
	const (
		npm   = core.ProtocolNPM
		oci   = core.ProtocolOCI
		maven = core.ProtocolMaven
	)
	tests := []struct {
		grant string
		want  core.Scope
		ok    bool
	}{
		// Exact.
		{"npm:package:left-pad:read", core.NewScope(npm, "package", "left-pad", core.ActionRead), true},
		{"npm:package:left-pad:read", core.NewScope(npm, "package", "right-pad", core.ActionRead), false},
		{"npm:package:left-pad:read", core.NewScope(oci, "package", "left-pad", core.ActionRead), false},
		{"npm:package:left-pad:read", core.NewScope(npm, "dist-tag", "left-pad", core.ActionRead), false},
		// Wildcards in every part.
		{"*:package:left-pad:read", core.NewScope(oci, "package", "left-pad", core.ActionRead), true},
		{"npm:*:left-pad:read", core.NewScope(npm, "dist-tag", "left-pad", core.ActionRead), true},
		{"npm:package:*:read", core.NewScope(npm, "package", "@any/thing", core.ActionRead), true},
		{"npm:package:left-pad:*", core.NewScope(npm, "package", "left-pad", core.ActionDelete), true},
		{"*:*:*:*", core.NewScope(maven, "artifact", "com.example:lib", core.ActionWrite), true},
		// Name globs.
		{"npm:package:@team/*:write", core.NewScope(npm, "package", "@team/app", core.ActionWrite), true},
		{"npm:package:@team/*:write", core.NewScope(npm, "package", "@other/app", core.ActionWrite), false},
		{"npm:package:@team/*:write", core.NewScope(npm, "package", "@team", core.ActionWrite), false},
		{"npm:package:@team/*:write", core.NewScope(npm, "package", "@teamx/app", core.ActionWrite), false},
		// "*" spans slashes: team/* covers nested OCI repositories too.
		{"oci:repository:team/*:read", core.NewScope(oci, "repository", "team/app", core.ActionRead), true},
		{"oci:repository:team/*:read", core.NewScope(oci, "repository", "team/sub/app", core.ActionRead), true},
		{"oci:repository:team/*:read", core.NewScope(oci, "repository", "team", core.ActionRead), false},
		{"oci:repository:team/*:read", core.NewScope(oci, "repository", "teamwork/app", core.ActionRead), false},
		{"oci:repository:team/?pp:read", core.NewScope(oci, "repository", "team/app", core.ActionRead), true},
		{"oci:repository:team/{app,web}:read", core.NewScope(oci, "repository", "team/web", core.ActionRead), true},
		{"oci:repository:team/{app,web}:read", core.NewScope(oci, "repository", "team/db", core.ActionRead), false},
		// Maven coordinates with ":".
		{"maven:artifact:com.example:lib:read", core.NewScope(maven, "artifact", "com.example:lib", core.ActionRead), true},
		{"maven:artifact:com.example:lib:read", core.NewScope(maven, "artifact", "com.example:other", core.ActionRead), false},
		{"maven:artifact:com.example:*:write", core.NewScope(maven, "artifact", "com.example:lib", core.ActionWrite), true},
		{"maven:artifact:com.example:*:write", core.NewScope(maven, "artifact", "org.example:lib", core.ActionWrite), false},
		// Action implication: write ⇒ read, delete ⇒ read, write ⇏ delete.
		{"npm:package:x:write", core.NewScope(npm, "package", "x", core.ActionRead), true},
		{"npm:package:x:delete", core.NewScope(npm, "package", "x", core.ActionRead), true},
		{"npm:package:x:write", core.NewScope(npm, "package", "x", core.ActionDelete), false},
		{"npm:package:x:delete", core.NewScope(npm, "package", "x", core.ActionWrite), false},
		{"npm:package:x:read", core.NewScope(npm, "package", "x", core.ActionWrite), false},
		{"npm:package:x:read", core.NewScope(npm, "package", "x", core.ActionDelete), false},
		{"npm:package:x:*", core.NewScope(npm, "package", "x", core.ActionWrite), true},
	}
	for _, tt := range tests {
		t.Run(tt.grant+"→"+tt.want.String(), func(t *testing.T) {
			g := core.MustParseScope(tt.grant)
			if got := g.Allows(tt.want); got != tt.ok {
				t.Errorf("%s.Allows(%s) = %v, want %v", tt.grant, tt.want, got, tt.ok)
			}
			list := []core.Scope{core.MustParseScope("pypi:package:unrelated:read"), g}
			if got := core.AnyAllows(list, tt.want); got != tt.ok {
				t.Errorf("AnyAllows = %v, want %v", got, tt.ok)
			}
		})
	}
	if core.AnyAllows(nil, core.NewScope(npm, "package", "x", core.ActionRead)) {
		t.Error("an empty scope list allows something")
	}
}
