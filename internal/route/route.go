// Package route matches request paths against a declarative table of
// patterns. It follows net/http.ServeMux's habits — segment-wise unescaping,
// GET routes also serve HEAD, a path that matches with another method is 405
// with Allow — and adds what ServeMux cannot express: a wildcard that spans
// several segments anywhere in the pattern (OCI names with slashes, Maven
// groups), matched from both ends, and literal text around a wildcard in
// one segment ("{package}.json").
//
// Patterns are slash-separated segments. A segment is literal text, or
// literal text around one wildcard: {name} matches text within one segment,
// {name...} (alone in its segment, at most once per pattern) matches one or
// more whole segments. Wildcard values are unescaped; a multi-segment value
// is its unescaped segments joined by "/".
package route

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/smartregistry/smartregistry/core"
)

// ErrNotFound: no pattern matches the path.
var ErrNotFound = errors.New("route: not found")

// MethodNotAllowedError: the path matches, but not with this method.
type MethodNotAllowedError struct {
	// Allow lists the methods the path accepts.
	Allow []string
}

func (e *MethodNotAllowedError) Error() string {
	return "route: method not allowed; allowed: " + strings.Join(e.Allow, ", ")
}

// Params are the wildcard values of a match.
type Params map[string]string

type segment struct {
	prefix, name, suffix string
	wild                 bool // has a {name}
	multi                bool // {name...}
}

type entry[H any] struct {
	method  string
	pattern string
	segs    []segment
	multiAt int // index of the {name...} segment, or -1
	handler H
}

// Table is an ordered list of routes; the first match wins.
type Table[H any] struct {
	entries []entry[H]
}

// Add appends a route. It panics on a malformed pattern: route tables are
// program text.
func (t *Table[H]) Add(method, pattern string, h H) {
	e := entry[H]{method: method, pattern: pattern, multiAt: -1, handler: h}
	if !strings.HasPrefix(pattern, "/") {
		panic(fmt.Sprintf("route: pattern %q must start with /", pattern))
	}
	for i, raw := range strings.Split(pattern[1:], "/") {
		s, err := parseSegment(raw)
		if err != nil {
			panic(fmt.Sprintf("route: pattern %q: %v", pattern, err))
		}
		if s.multi {
			if e.multiAt >= 0 {
				panic(fmt.Sprintf("route: pattern %q has two {...} wildcards", pattern))
			}
			e.multiAt = i
		}
		e.segs = append(e.segs, s)
	}
	t.entries = append(t.entries, e)
}

func parseSegment(raw string) (segment, error) {
	open := strings.IndexByte(raw, '{')
	if open < 0 {
		if strings.ContainsAny(raw, "}") {
			return segment{}, errors.New("unbalanced }")
		}
		return segment{prefix: raw}, nil
	}
	closeAt := strings.IndexByte(raw, '}')
	if closeAt < open || strings.Count(raw, "{") != 1 || strings.Count(raw, "}") != 1 {
		return segment{}, errors.New("a segment takes one {wildcard}")
	}
	s := segment{prefix: raw[:open], name: raw[open+1 : closeAt], suffix: raw[closeAt+1:], wild: true}
	if n, ok := strings.CutSuffix(s.name, "..."); ok {
		if s.prefix != "" || s.suffix != "" {
			return segment{}, errors.New("{name...} must fill its segment")
		}
		s.name, s.multi = n, true
	}
	if s.name == "" {
		return segment{}, errors.New("empty wildcard name")
	}
	return s, nil
}

// Match finds the route for method and an escaped path. It returns
// ErrNotFound, or a *MethodNotAllowedError, when there is none.
func (t *Table[H]) Match(method, escapedPath string) (H, Params, error) {
	var zero H
	if !strings.HasPrefix(escapedPath, "/") {
		return zero, nil, ErrNotFound
	}
	parts := strings.Split(escapedPath[1:], "/")
	var allow []string
	for _, e := range t.entries {
		params, ok := e.match(parts)
		if !ok {
			continue
		}
		if e.method == method || (method == http.MethodHead && e.method == http.MethodGet) {
			return e.handler, params, nil
		}
		allow = append(allow, e.method)
		if e.method == http.MethodGet {
			allow = append(allow, http.MethodHead)
		}
	}
	if len(allow) > 0 {
		slices.Sort(allow)
		return zero, nil, &MethodNotAllowedError{Allow: slices.Compact(allow)}
	}
	return zero, nil, ErrNotFound
}

// Lookup is Match with the errors a protocol handler returns:
// core.ErrNotFound naming the path, or core.ErrMethodNotAllowed wrapping
// the *MethodNotAllowedError (whose Allow SetAllow puts in the answer).
func (t *Table[H]) Lookup(method, escapedPath string) (H, Params, error) {
	h, params, err := t.Match(method, escapedPath)
	if err != nil {
		if mna := (*MethodNotAllowedError)(nil); errors.As(err, &mna) {
			return h, nil, fmt.Errorf("%w: %w", core.ErrMethodNotAllowed, mna)
		}
		return h, nil, fmt.Errorf("%w: %s", core.ErrNotFound, escapedPath)
	}
	return h, params, nil
}

// SetAllow sets header's Allow to the methods of the *MethodNotAllowedError
// err wraps, if it wraps one.
func SetAllow(header http.Header, err error) {
	if mna := (*MethodNotAllowedError)(nil); errors.As(err, &mna) {
		header.Set("Allow", strings.Join(mna.Allow, ", "))
	}
}

func (e *entry[H]) match(parts []string) (Params, bool) {
	params := Params{}
	if e.multiAt < 0 {
		if len(parts) != len(e.segs) {
			return nil, false
		}
		for i, s := range e.segs {
			if !s.matchOne(parts[i], params) {
				return nil, false
			}
		}
		return params, true
	}
	head, tail := e.segs[:e.multiAt], e.segs[e.multiAt+1:]
	if len(parts) < len(head)+len(tail)+1 {
		return nil, false
	}
	for i, s := range head {
		if !s.matchOne(parts[i], params) {
			return nil, false
		}
	}
	off := len(parts) - len(tail)
	for i, s := range tail {
		if !s.matchOne(parts[off+i], params) {
			return nil, false
		}
	}
	middle := parts[len(head):off]
	vals := make([]string, len(middle))
	for i, p := range middle {
		v, err := url.PathUnescape(p)
		if err != nil || v == "" {
			return nil, false
		}
		vals[i] = v
	}
	params[e.segs[e.multiAt].name] = strings.Join(vals, "/")
	return params, true
}

func (s segment) matchOne(part string, params Params) bool {
	if !s.wild {
		v, err := url.PathUnescape(part)
		return err == nil && v == s.prefix
	}
	v, err := url.PathUnescape(part)
	if err != nil || len(v) <= len(s.prefix)+len(s.suffix) {
		return false
	}
	if !strings.HasPrefix(v, s.prefix) || !strings.HasSuffix(v, s.suffix) {
		return false
	}
	params[s.name] = v[len(s.prefix) : len(v)-len(s.suffix)]
	return true
}
