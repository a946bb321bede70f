package core

import "context"

// Upstream is a registry that a protocol handler may fetch packages from
// when it does not have them itself.
type Upstream struct {
	// Name labels the upstream in logs and errors.
	Name string
	// URL is the upstream's base URL for the protocol, e.g.
	// "https://registry.npmjs.org".
	URL string
	// Priority orders upstreams: lower values are asked first.
	Priority int
	// Include lists glob patterns of package names this upstream serves
	// ("*" matches any run of characters, slashes included); empty means
	// every name.
	Include []string
	// Exclude lists glob patterns of names never asked of this upstream;
	// it wins over Include.
	Exclude []string
	// Username and Password are sent as HTTP Basic, or Token as Bearer.
	Username, Password, Token string
	// Disabled takes the upstream out of service without removing its
	// configuration.
	Disabled bool
}

// UpstreamProvider tells protocol handlers which upstreams to ask for a
// package, in the order to ask them. The upstream package has a static
// implementation; plug in your own to choose upstreams per tenant.
type UpstreamProvider interface {
	// Upstreams returns the upstreams to ask for the package name of
	// protocol, first choice first; none means the package is local only.
	Upstreams(ctx context.Context, protocol Protocol, name string) []Upstream
}
