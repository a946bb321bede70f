package smartregistry

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/smartregistry/smartregistry/cargo"
	"github.com/smartregistry/smartregistry/composer"
	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/s3"
	"github.com/smartregistry/smartregistry/maven"
	"github.com/smartregistry/smartregistry/npm"
	"github.com/smartregistry/smartregistry/oci"
	"github.com/smartregistry/smartregistry/pypi"
	"github.com/smartregistry/smartregistry/rubygems"
)

// Config configures a [Registry]. Zero values mean defaults; [New] validates
// it and names the field at fault.
type Config struct {
	// Storage selects where objects live. Required.
	Storage StorageConfig
	// Auth configures the built-in auth provider and the auth manager.
	Auth AuthConfig
	// AuthProvider replaces the built-in provider (users and tokens from
	// Auth) with your own, e.g. LDAP or OIDC backed. When it is set, New
	// refuses Auth.Users, Auth.Tokens, Auth.PersistTokens and
	// Auth.TokenCacheTTL, which only the built-in provider reads; the rest
	// of Auth still applies. [core.NewAuthProvider] builds one from just an
	// Authenticate and an Authorize method, with the built-in token store;
	// to change one method of the built-in provider, embed a
	// *core.DefaultAuthProvider in your type.
	AuthProvider core.AuthProvider
	// StorageHooks observe and may veto every storage operation.
	StorageHooks core.StorageHooks
	// Upstream names the upstream registries protocol handlers may proxy,
	// by priority and glob scope rules (see upstream.NewStatic). Optional.
	// The protocol handlers built so far serve only what was published to
	// them and do not consult it yet.
	Upstream core.UpstreamProvider
	// Logger receives one line per request (method, path, protocol,
	// status, bytes, duration, user, org, ip) and the detail of internal
	// errors; default slog.Default().
	Logger *slog.Logger
	// DisableRequestLog switches the per-request line off, e.g. when your
	// own middleware logs requests; internal errors are still logged.
	DisableRequestLog bool

	// OCI configures the OCI (container image) registry; like every
	// protocol, it serves only when Enabled.
	OCI oci.Config
	// NPM configures the npm registry.
	NPM npm.Config
	// PyPI configures the PyPI (Python package index) registry.
	PyPI pypi.Config
	// Cargo configures the Cargo (Rust crates) sparse-index registry.
	Cargo cargo.Config
	// Composer configures the Composer (PHP) repository.
	Composer composer.Config
	// RubyGems configures the RubyGems registry.
	RubyGems rubygems.Config
	// Maven configures the Maven repository.
	Maven maven.Config
}

// StorageConfig selects the storage backend: Backend when set, otherwise the
// S3 descriptor.
type StorageConfig struct {
	// Backend is any core.Backend value, e.g. from core/storage/filesystem
	// or core/storage/memory.
	Backend core.Backend
	// S3 describes an S3 bucket, used when Backend is nil. New checks the
	// options offline, then that the bucket answers within their
	// CheckTimeout (see s3.New); build the backend yourself with s3.New to
	// pass a context instead.
	S3 *s3.Options
}

// AuthConfig configures the built-in authentication. Users, Tokens,
// PersistTokens and TokenCacheTTL configure the built-in provider and must
// be left zero when Config.AuthProvider is set; AnonymousRead and
// JWTSecret apply to any provider.
type AuthConfig struct {
	// Users who can log in with a password (built-in provider only).
	Users []core.UserConfig
	// Tokens are fixed tokens, e.g. an admin token for CI (built-in
	// provider only).
	Tokens []core.StaticToken
	// PersistTokens keeps created tokens in Storage (as hashes) so they
	// survive restarts and are shared by replicas; otherwise in memory.
	PersistTokens bool
	// TokenCacheTTL is how long a persisted token is trusted before it is
	// read from storage again (a revocation reaches other replicas within
	// it); 0 means 10 seconds, negative turns the cache off.
	TokenCacheTTL time.Duration
	// AnonymousRead lists the protocols anyone may read from.
	AnonymousRead []core.Protocol
	// LoginThrottle locks a user name or client IP out for a growing delay
	// after failed password checks (see core.LoginThrottle); off when zero,
	// core.DefaultLoginThrottle is the recommended setting. With
	// PersistTokens and no LoginThrottle.Storage, the counters are kept in
	// Storage, shared by replicas.
	LoginThrottle core.LoginThrottle
	// JWTSecret signs OCI bearer tokens; replicas must share it. Random per
	// process when empty; otherwise at least 32 bytes (core.MinJWTSecretLen),
	// e.g. 64 hex digits from `openssl rand -hex 32`.
	JWTSecret string
}

// protocolSetting is one protocol's shared configuration, as seen by New.
type protocolSetting struct {
	field    string
	protocol core.Protocol
	cfg      *core.ProtocolConfig
}

func (c *Config) protocolSettings() []protocolSetting {
	return []protocolSetting{
		{"OCI", core.ProtocolOCI, &c.OCI.ProtocolConfig},
		{"NPM", core.ProtocolNPM, &c.NPM.ProtocolConfig},
		{"PyPI", core.ProtocolPyPI, &c.PyPI.ProtocolConfig},
		{"Cargo", core.ProtocolCargo, &c.Cargo.ProtocolConfig},
		{"Composer", core.ProtocolComposer, &c.Composer.ProtocolConfig},
		{"RubyGems", core.ProtocolRubyGems, &c.RubyGems.ProtocolConfig},
		{"Maven", core.ProtocolMaven, &c.Maven.ProtocolConfig},
	}
}

// normalize fills in default base paths and checks what New cannot work
// with, naming the field.
func (c *Config) normalize() error {
	if c.Storage.Backend == nil {
		if c.Storage.S3 == nil {
			return errors.New("config Storage: set Storage.Backend or Storage.S3")
		}
		if err := c.Storage.S3.Validate(); err != nil {
			return fmt.Errorf("config Storage.S3: %w", err)
		}
	}
	seen := map[string]string{}
	for _, p := range c.protocolSettings() {
		if !p.cfg.Enabled {
			continue
		}
		if p.cfg.BasePath == "" {
			p.cfg.BasePath = "/" + string(p.protocol)
		}
		bp := p.cfg.BasePath
		if err := checkBasePath(bp); err != nil {
			return fmt.Errorf("config %s.BasePath: %q %w", p.field, bp, err)
		}
		if other, dup := seen[bp]; dup {
			return fmt.Errorf("config %s.BasePath: %q is already used by %s", p.field, bp, other)
		}
		seen[bp] = p.field
		if c.OCI.Enabled && (bp == "/v2" || strings.HasPrefix(bp, "/v2/")) {
			return fmt.Errorf("config %s.BasePath: %q is taken: OCI clients connect at /v2 whatever OCI's base path", p.field, bp)
		}
		if u := p.cfg.RegistryURL; u != "" {
			parsed, err := url.Parse(u)
			if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" ||
				parsed.RawQuery != "" || parsed.Fragment != "" || parsed.User != nil {
				return fmt.Errorf("config %s.RegistryURL: %q is not an absolute http(s) URL without query, fragment or user", p.field, u)
			}
			p.cfg.RegistryURL = strings.TrimSuffix(u, "/")
		}
	}
	if c.AuthProvider != nil {
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"Users", len(c.Auth.Users) > 0},
			{"Tokens", len(c.Auth.Tokens) > 0},
			{"PersistTokens", c.Auth.PersistTokens},
			{"TokenCacheTTL", c.Auth.TokenCacheTTL != 0},
		} {
			if f.set {
				return fmt.Errorf("config Auth.%s: configures the built-in auth provider, which AuthProvider replaces; "+
					"give your provider its users and tokens (core.NewAuthProvider keeps tokens for it)", f.name)
			}
		}
	}
	for i, p := range c.Auth.AnonymousRead {
		if !knownProtocol(p) {
			return fmt.Errorf("config Auth.AnonymousRead[%d]: %q is not a protocol name (such as %q)", i, p, core.ProtocolNPM)
		}
	}
	if n := len(c.Auth.JWTSecret); n > 0 && n < core.MinJWTSecretLen {
		return fmt.Errorf("config Auth.JWTSecret: %d bytes is too short, at least %d are required", n, core.MinJWTSecretLen)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// knownProtocol reports whether p names a protocol, for Auth.AnonymousRead.
func knownProtocol(p core.Protocol) bool {
	switch p {
	case core.ProtocolOCI, core.ProtocolNPM, core.ProtocolMaven, core.ProtocolCargo,
		core.ProtocolComposer, core.ProtocolPyPI, core.ProtocolRubyGems:
		return true
	}
	return false
}

// checkBasePath says what is wrong with a base path: it must be "/" or
// slash-separated segments, starting with "/", not ending with one, with
// no empty, "." or ".." segment and only characters that need no escaping
// in a URL path (it is compared with the escaped request path).
func checkBasePath(bp string) error {
	if bp == "/" {
		return nil
	}
	if !strings.HasPrefix(bp, "/") || strings.HasSuffix(bp, "/") {
		return errors.New("must start with / and not end with /")
	}
	for seg := range strings.SplitSeq(bp[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return errors.New("has an empty, \".\" or \"..\" segment")
		}
	}
	for _, c := range bp {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("/-._~", c)) {
			return fmt.Errorf("contains %q; use letters, digits and -._~", c)
		}
	}
	return nil
}
