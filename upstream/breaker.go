package upstream

import (
	"context"
	"errors"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/smartregistry/smartregistry/core"
)

// BreakerSettings configure the circuit breaker of each upstream. Zero
// values mean defaults.
type BreakerSettings struct {
	// FailureThreshold is the number of consecutive failures (timeouts,
	// connection errors, 5xx and 429 answers) that opens the breaker;
	// default 5.
	FailureThreshold uint32
	// OpenTimeout is how long an open breaker skips its upstream before it
	// lets trial requests through (half-open); default 30s.
	OpenTimeout time.Duration
	// HalfOpenRequests is the number of trial requests let through while
	// half-open; that many successes close the breaker, one failure opens
	// it again. Default 1.
	HalfOpenRequests uint32
}

func (s BreakerSettings) withDefaults() BreakerSettings {
	if s.FailureThreshold == 0 {
		s.FailureThreshold = 5
	}
	if s.OpenTimeout <= 0 {
		s.OpenTimeout = 30 * time.Second
	}
	if s.HalfOpenRequests == 0 {
		s.HalfOpenRequests = 1
	}
	return s
}

// BreakerState describes the circuit breaker of one upstream, as
// [Breakers.States] reports it.
type BreakerState struct {
	// Protocol is the protocol the upstream serves.
	Protocol core.Protocol `json:"protocol"`
	// Name is the upstream's name.
	Name string `json:"name"`
	// URL is the upstream's URL without credentials.
	URL string `json:"url"`
	// State is "closed" (requests go through), "open" (the upstream is
	// skipped) or "half-open" (trial requests go through).
	State string `json:"state"`
	// ConsecutiveFailures counts the failures since the last success.
	ConsecutiveFailures uint32 `json:"consecutiveFailures"`
}

// Breakers holds one circuit breaker per upstream. Share one between the
// clients of several protocols to report all states in one place; it is
// safe for concurrent use.
type Breakers struct {
	settings BreakerSettings
	mu       sync.Mutex
	byKey    map[breakerKey]*breaker
}

type breakerKey struct {
	protocol  core.Protocol
	name, url string
}

type breaker struct {
	key breakerKey
	cb  *gobreaker.TwoStepCircuitBreaker[struct{}]
}

// NewBreakers returns an empty set of breakers with settings s.
func NewBreakers(s BreakerSettings) *Breakers {
	return &Breakers{settings: s.withDefaults(), byKey: map[breakerKey]*breaker{}}
}

// Register creates the breakers of upstreams up front, so that
// [Breakers.States] lists them before their first request.
func (b *Breakers) Register(protocol core.Protocol, upstreams ...core.Upstream) {
	for _, u := range upstreams {
		b.get(protocol, u)
	}
}

// get returns the breaker of upstream u of protocol, creating it.
func (b *Breakers) get(protocol core.Protocol, u core.Upstream) *breaker {
	k := breakerKey{protocol: protocol, name: u.Name, url: u.URL}
	b.mu.Lock()
	defer b.mu.Unlock()
	if br, ok := b.byKey[k]; ok {
		return br
	}
	threshold := b.settings.FailureThreshold
	br := &breaker{key: k, cb: gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        string(protocol) + ":" + u.Name,
		MaxRequests: b.settings.HalfOpenRequests,
		Timeout:     b.settings.OpenTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= threshold },
		IsExcluded:  func(err error) bool { return errors.Is(err, context.Canceled) },
	})}
	b.byKey[k] = br
	return br
}

// States reports every breaker, ordered by protocol, name and URL.
func (b *Breakers) States() []BreakerState {
	b.mu.Lock()
	list := make([]*breaker, 0, len(b.byKey))
	for _, br := range b.byKey {
		list = append(list, br)
	}
	b.mu.Unlock()
	out := make([]BreakerState, 0, len(list))
	for _, br := range list {
		out = append(out, BreakerState{Protocol: br.key.protocol, Name: br.key.name, URL: redact(br.key.url),
			State: br.cb.State().String(), ConsecutiveFailures: br.cb.Counts().ConsecutiveFailures})
	}
	sort.Slice(out, func(i, j int) bool {
		a, c := out[i], out[j]
		if a.Protocol != c.Protocol {
			return a.Protocol < c.Protocol
		}
		if a.Name != c.Name {
			return a.Name < c.Name
		}
		return a.URL < c.URL
	})
	return out
}

// redact removes credentials from a URL for display.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}
