package main

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/upstream"
)

// upstreamProtocols are the protocols whose upstreams the environment
// names, SMARTREGISTRY_UPSTREAM_<NAME>.
var upstreamProtocols = map[string]core.Protocol{
	"NPM": core.ProtocolNPM, "PYPI": core.ProtocolPyPI, "OCI": core.ProtocolOCI, "CARGO": core.ProtocolCargo,
	"COMPOSER": core.ProtocolComposer, "RUBYGEMS": core.ProtocolRubyGems, "MAVEN": core.ProtocolMaven,
}

// upstreamOptions are the upstreams and cache policy from the environment.
type upstreamOptions struct {
	byProtocol map[core.Protocol][]core.Upstream
	// policy is every protocol's cache policy: its MetadataTTL and Merge.
	policy upstream.Policy
}

// parseUpstreams reads SMARTREGISTRY_UPSTREAM_<PROTOCOL> (a comma-separated
// list of URLs, first choice first), SMARTREGISTRY_UPSTREAM_TTL and
// SMARTREGISTRY_UPSTREAM_MERGE.
//
// Each URL is what that protocol's client would be pointed at. Credentials
// go in the URL: "https://user:secret@host/path" is sent as HTTP Basic,
// "https://:token@host/path" as a Bearer token. A fragment limits the
// package names asked of it: glob patterns separated by ";", those starting
// with "!" excluded ("https://npm.acme.internal#@acme/*",
// "https://registry.npmjs.org#!@acme/*").
func parseUpstreams(getenv func(string) string) (upstreamOptions, error) {
	o := upstreamOptions{byProtocol: map[core.Protocol][]core.Upstream{}}
	for envName, proto := range upstreamProtocols {
		name := "SMARTREGISTRY_UPSTREAM_" + envName
		for i, raw := range strings.Split(getenv(name), ",") {
			if raw = strings.TrimSpace(raw); raw == "" {
				continue
			}
			u, err := parseUpstreamURL(raw)
			if err != nil {
				return o, fmt.Errorf("%s: %w", name, err)
			}
			u.Priority = i
			u.Name = fmt.Sprintf("%s-%d", proto, i+1)
			o.byProtocol[proto] = append(o.byProtocol[proto], u)
		}
	}
	if v := getenv("SMARTREGISTRY_UPSTREAM_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return o, fmt.Errorf("SMARTREGISTRY_UPSTREAM_TTL: %q is not a positive duration such as 5m", v)
		}
		o.policy.MetadataTTL = d
	}
	if v := getenv("SMARTREGISTRY_UPSTREAM_MERGE"); v != "" {
		merge, err := strconv.ParseBool(v)
		if err != nil {
			return o, fmt.Errorf("SMARTREGISTRY_UPSTREAM_MERGE: %q is not true or false", v)
		}
		o.policy.Merge = merge
	}
	return o, nil
}

// parseUpstreamURL splits credentials and scope rules off an upstream URL.
func parseUpstreamURL(raw string) (core.Upstream, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return core.Upstream{}, fmt.Errorf("%q is not an http(s) URL", redactURL(raw))
	}
	var up core.Upstream
	if u.User != nil {
		pass, hasPass := u.User.Password()
		switch user := u.User.Username(); {
		case user == "" && hasPass:
			up.Token = pass
		default:
			up.Username, up.Password = user, pass
		}
		u.User = nil
	}
	if u.Fragment != "" {
		for p := range strings.SplitSeq(u.Fragment, ";") {
			if ex, ok := strings.CutPrefix(p, "!"); ok {
				up.Exclude = append(up.Exclude, ex)
			} else if p != "" {
				up.Include = append(up.Include, p)
			}
		}
		u.Fragment, u.RawFragment = "", ""
	}
	up.URL = strings.TrimSuffix(u.String(), "/")
	return up, nil
}

// redactURL hides the credentials of a URL in an error message.
func redactURL(raw string) string {
	if at := strings.LastIndex(raw, "@"); at >= 0 {
		if scheme := strings.Index(raw, "://"); scheme >= 0 && scheme < at {
			return raw[:scheme+3] + "…@" + raw[at+1:]
		}
	}
	return raw
}

// provider returns the upstream provider, or nil when none are configured.
func (o upstreamOptions) provider() (*upstream.Static, error) {
	if len(o.byProtocol) == 0 {
		return nil, nil
	}
	return upstream.NewStatic(o.byProtocol)
}
