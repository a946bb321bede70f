package core

import (
	"fmt"
	"strings"

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
// example "npm:package:@team/*:write". Every part may be "*"; the name may be
// a glob where "*" matches any run of characters, slashes included. The name
// may itself contain ":" (Maven's group:artifact): the protocol and type are
// the first two parts and the action the last.
type Scope struct {
	Protocol string
	Type     string
	Name     string
	Action   Action

	name *glob.Pattern
}

// ParseScope parses a scope string.
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
	switch sc.Action {
	case ActionRead, ActionWrite, ActionDelete, ActionAll:
	default:
		return Scope{}, fmt.Errorf("%w: scope %q has unknown action %q", ErrInvalidArgument, s, sc.Action)
	}
	if strings.ContainsAny(sc.Name, "*?[{") {
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
	if s.Protocol != "*" && s.Protocol != want.Protocol {
		return false
	}
	if s.Type != "*" && s.Type != want.Type {
		return false
	}
	if !s.matchName(want.Name) {
		return false
	}
	return s.Action == ActionAll || s.Action == want.Action ||
		(want.Action == ActionRead && (s.Action == ActionWrite || s.Action == ActionDelete))
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

// AnyAllows reports whether any scope in list grants want.
func AnyAllows(list []Scope, want Scope) bool {
	for _, s := range list {
		if s.Allows(want) {
			return true
		}
	}
	return false
}
