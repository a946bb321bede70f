package upstream

import (
	"context"
	"fmt"
	"slices"

	"github.com/gobwas/glob"

	"github.com/smartregistry/smartregistry/core"
)

// Static is a [core.UpstreamProvider] over a fixed list of upstreams per
// protocol.
type Static struct {
	byProtocol map[core.Protocol][]rule
	breakers   *Breakers
}

type rule struct {
	upstream         core.Upstream
	include, exclude []*glob.Pattern
}

var _ core.UpstreamProvider = (*Static)(nil)

// NewStatic checks and compiles the configuration: every upstream needs a
// URL, and every pattern must compile. Disabled upstreams are left out.
// The upstreams' circuit breakers have default settings.
func NewStatic(cfg map[core.Protocol][]core.Upstream) (*Static, error) {
	return NewStaticWith(cfg, BreakerSettings{})
}

// NewStaticWith is [NewStatic] with the settings of the upstreams' circuit
// breakers, which every [Client] built on the provider shares.
func NewStaticWith(cfg map[core.Protocol][]core.Upstream, bs BreakerSettings) (*Static, error) {
	s := &Static{byProtocol: map[core.Protocol][]rule{}, breakers: NewBreakers(bs)}
	for proto, list := range cfg {
		rules := make([]rule, 0, len(list))
		for i, u := range list {
			if u.Disabled {
				continue
			}
			if u.URL == "" {
				return nil, fmt.Errorf("upstream %s[%d] (%s): URL is empty", proto, i, u.Name)
			}
			inc, err := compileAll(u.Include)
			if err != nil {
				return nil, fmt.Errorf("upstream %s[%d] (%s) Include: %w", proto, i, u.Name, err)
			}
			exc, err := compileAll(u.Exclude)
			if err != nil {
				return nil, fmt.Errorf("upstream %s[%d] (%s) Exclude: %w", proto, i, u.Name, err)
			}
			rules = append(rules, rule{upstream: u, include: inc, exclude: exc})
		}
		slices.SortStableFunc(rules, func(a, b rule) int { return a.upstream.Priority - b.upstream.Priority })
		s.byProtocol[proto] = rules
		for _, r := range rules {
			s.breakers.Register(proto, r.upstream)
		}
	}
	return s, nil
}

// Breakers returns the circuit breakers of the configured upstreams, for
// every [Client] built on s and for a health page.
func (s *Static) Breakers() *Breakers { return s.breakers }

func compileAll(patterns []string) ([]*glob.Pattern, error) {
	out := make([]*glob.Pattern, 0, len(patterns))
	for _, p := range patterns {
		g, err := glob.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("pattern %q: %w", p, err)
		}
		out = append(out, g)
	}
	return out, nil
}

// Upstreams returns the upstreams that serve name for protocol, lowest
// priority value first (configuration order among equals).
func (s *Static) Upstreams(_ context.Context, protocol core.Protocol, name string) []core.Upstream {
	var out []core.Upstream
	for _, r := range s.byProtocol[protocol] {
		if r.matches(name) {
			out = append(out, r.upstream)
		}
	}
	return out
}

func (r rule) matches(name string) bool {
	for _, g := range r.exclude {
		if g.Match(name) {
			return false
		}
	}
	if len(r.include) == 0 {
		return true
	}
	for _, g := range r.include {
		if g.Match(name) {
			return true
		}
	}
	return false
}
