package core

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/gobwas/glob"
)

// Action is what a scope allows on a resource.
type Action string

// The actions. A scope granting write or delete also grants read of the same
// resources; write and delete are independent of each other. OCI's pull maps
// to read, push to write.
const (
	ActionRead   Action = "read"
	ActionWrite  Action = "write"
	ActionDelete Action = "delete"
	ActionAll    Action = "*"
)

// Scope is a permission of the form {protocol}:{type}:{name}:{action}, for
// example "npm:package:@team/*:write". Every part may be "*"; the name may
// also be a glob where "*" matches any run of characters, slashes included
// (so "team/*" covers "team/app" and "team/sub/app" but not "team"), "?"
// one character, and [...] and {a,b} as usual. The name may itself contain
// ":" (Maven's group:artifact): the protocol and type are the first two
// parts and the action the last.
type Scope struct {
	// Protocol is a [Protocol] name such as "npm", or "*".
	Protocol string
	// Type is what the name names: "package" (npm, PyPI), "repository"
	// (OCI), or "*".
	Type string
	// Name is the package or repository name, or a glob of names.
	Name string
	// Action is read, write, delete or "*"; write and delete include read.
	Action Action

	name *glob.Pattern
}

// ParseScope parses a scope string. Empty parts, unknown actions, spaces,
// control characters, bad name patterns and patterns in the protocol or
// type (other than "*") are [ErrInvalidArgument].
func ParseScope(s string) (Scope, error) {
	first := strings.IndexByte(s, ':')
	last := strings.LastIndexByte(s, ':')
	if first < 0 {
		return Scope{}, fmt.Errorf("%w: scope %q is not protocol:type:name:action", ErrInvalidArgument, s)
	}
	second := strings.IndexByte(s[first+1:], ':')
	if second < 0 || first+1+second >= last {
		return Scope{}, fmt.Errorf("%w: scope %q is not protocol:type:name:action", ErrInvalidArgument, s)
	}
	second += first + 1
	sc := Scope{Protocol: s[:first], Type: s[first+1 : second], Name: s[second+1 : last], Action: Action(s[last+1:])}
	if sc.Protocol == "" || sc.Type == "" || sc.Name == "" {
		return Scope{}, fmt.Errorf("%w: scope %q has an empty part", ErrInvalidArgument, s)
	}
	if strings.ContainsFunc(s, unicode.IsSpace) || strings.ContainsFunc(s, unicode.IsControl) {
		return Scope{}, fmt.Errorf("%w: scope %q contains a space or control character", ErrInvalidArgument, s)
	}
	for _, part := range []string{sc.Protocol, sc.Type} {
		if part != "*" && strings.ContainsAny(part, globMeta) {
			return Scope{}, fmt.Errorf("%w: scope %q: only the name may be a pattern; protocol and type are a word or \"*\"",
				ErrInvalidArgument, s)
		}
	}
	switch sc.Action {
	case ActionRead, ActionWrite, ActionDelete, ActionAll:
	default:
		return Scope{}, fmt.Errorf("%w: scope %q has unknown action %q", ErrInvalidArgument, s, sc.Action)
	}
	if strings.ContainsAny(sc.Name, globMeta) {
		g, err := glob.Compile(sc.Name)
		if err != nil {
			return Scope{}, fmt.Errorf("%w: scope %q: bad name pattern: %v", ErrInvalidArgument, s, err)
		}
		sc.name = g
	}
	return sc, nil
}

// MustParseScope is ParseScope for literals; it panics on a bad scope.
func MustParseScope(s string) Scope {
	sc, err := ParseScope(s)
	if err != nil {
		panic(err)
	}
	return sc
}

// ParseScopes parses a list of scope strings.
func ParseScopes(list []string) ([]Scope, error) {
	out := make([]Scope, 0, len(list))
	for _, s := range list {
		sc, err := ParseScope(s)
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, nil
}

// NewScope builds the concrete scope a handler checks, e.g.
// NewScope(ProtocolNPM, "package", "@team/app", ActionWrite).
func NewScope(p Protocol, typ, name string, a Action) Scope {
	return Scope{Protocol: string(p), Type: typ, Name: name, Action: a}
}

// String renders the scope as protocol:type:name:action.
func (s Scope) String() string {
	return s.Protocol + ":" + s.Type + ":" + s.Name + ":" + string(s.Action)
}

// Allows reports whether s (which may contain wildcards) grants the concrete
// permission want.
func (s Scope) Allows(want Scope) bool {
	return s.kindCovers(want) && s.actionCovers(want.Action) && s.matchName(want.Name)
}

// kindCovers reports whether s's protocol and type include o's.
func (s Scope) kindCovers(o Scope) bool {
	return (s.Protocol == "*" || s.Protocol == o.Protocol) && (s.Type == "*" || s.Type == o.Type)
}

func (s Scope) matchName(name string) bool {
	if s.Name == "*" {
		return true
	}
	if s.name != nil {
		return s.name.Match(name)
	}
	return s.Name == name
}

// covers reports whether every permission s2 grants is also granted by s,
// that is whether a holder of s may hand out s2 (say, to a token). Unlike
// [Scope.Allows], s2 may itself hold wildcards and a name pattern. The check
// is conservative: a name pattern is covered by "*", by the same pattern, or
// — when both use only "*" as a wildcard — by a pattern that matches its
// text, since each of s2's stars then falls inside one of s's.
func (s Scope) covers(s2 Scope) bool {
	if !s.kindCovers(s2) || !s.actionCovers(s2.Action) {
		return false
	}
	switch {
	case s.Name == "*" || s.Name == s2.Name:
		return true
	case !strings.ContainsAny(s2.Name, globMeta):
		return s.matchName(s2.Name)
	default:
		return starOnly(s.Name) && starOnly(s2.Name) && s.matchName(s2.Name)
	}
}

// actionCovers reports whether s's action grants a: the same action, any
// action for "*", and read for write or delete.
func (s Scope) actionCovers(a Action) bool {
	return s.Action == ActionAll || s.Action == a ||
		(a == ActionRead && (s.Action == ActionWrite || s.Action == ActionDelete))
}

// globMeta are the characters that make a scope name a pattern.
const globMeta = "*?[{"

// starOnly reports whether a name pattern uses no wildcard but "*".
func starOnly(pattern string) bool { return !strings.ContainsAny(pattern, "?[{\\") }

// AnyAllows reports whether any scope in list grants want.
func AnyAllows(list []Scope, want Scope) bool {
	for _, s := range list {
		if s.Allows(want) {
			return true
		}
	}
	return false
}

// narrowScopes keeps the requested scopes that some scope in own covers.
func narrowScopes(own, requested []Scope) []Scope {
	out := make([]Scope, 0, len(requested))
	for _, r := range requested {
		if slices.ContainsFunc(own, func(o Scope) bool { return o.covers(r) }) {
			out = append(out, r)
		}
	}
	return out
}
