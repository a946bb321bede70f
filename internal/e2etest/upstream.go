package e2etest

import (
	"strings"
	"testing"
	"time"
)

// OnS3 returns the Options of a test's S3 variant (S3 on), or skips (fails
// when tools are required) when no S3 endpoint is set.
func OnS3(t testing.TB) Options {
	t.Helper()
	S3Env(t)
	return Options{S3: true}
}

// BasicUpstream returns s as one upstream of SMARTREGISTRY_UPSTREAM_<P>
// (see UpstreamEnv), asked with the admin's user and password (HTTP
// Basic): path is where the protocol is served below s's root ("/npm";
// "" for OCI), rules the scope rules, ";"-separated globs, "!" excluding
// ("!@team/*;!@broken/*"; "" for none).
func (s *Server) BasicUpstream(path, rules string) string {
	return withRules("http://"+s.AdminUser+":"+s.AdminPassword+"@"+s.Host+path, rules)
}

// TokenUpstream is BasicUpstream asked with s's token instead: as a Bearer
// token when user is "", else as the password of HTTP Basic user (PyPI's
// "__token__").
func (s *Server) TokenUpstream(user, path, rules string) string {
	return withRules("http://"+user+":"+s.Token+"@"+s.Host+path, rules)
}

func withRules(u, rules string) string {
	if rules == "" {
		return u
	}
	return u + "#" + rules
}

// UpstreamEnv returns the environment (for Options.Env) that makes the
// example server proxy protocol (as the variable names it: "NPM", "PYPI",
// "OCI", "CARGO", "COMPOSER", "RUBYGEMS", "MAVEN") to upstreams, first
// choice first, serving fetched metadata for ttl before asking again.
func UpstreamEnv(protocol string, ttl time.Duration, upstreams ...string) []string {
	return []string{"SMARTREGISTRY_UPSTREAM_" + protocol + "=" + strings.Join(upstreams, ","),
		"SMARTREGISTRY_UPSTREAM_TTL=" + ttl.String()}
}
