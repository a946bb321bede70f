package smartregistry

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/s3"
	"github.com/smartregistry/smartregistry/npm"
	"github.com/smartregistry/smartregistry/oci"
	"github.com/smartregistry/smartregistry/pypi"
)

// Config configures a [Registry]. Zero values mean defaults; [New] validates
// it and names the field at fault.
type Config struct {
	// Storage selects where objects live. Required.
	Storage StorageConfig
	// Auth configures the default auth provider and the auth manager.
	Auth AuthConfig
	// AuthProvider replaces the default provider (users and tokens from
	// Auth) with your own, e.g. LDAP or OIDC backed.
	AuthProvider core.AuthProvider
	// StorageHooks observe and may veto every storage operation.
	StorageHooks core.StorageHooks
	// Logger receives one line per request and the detail of internal
	// errors; default slog.Default().
	Logger *slog.Logger

	// One block per protocol; a protocol serves only when Enabled.
	OCI  oci.Config
	NPM  npm.Config
	PyPI pypi.Config
}

// StorageConfig selects the storage backend: Backend when set, otherwise the
// S3 descriptor.
type StorageConfig struct {
	// Backend is any core.Backend value, e.g. from core/storage/filesystem
	// or core/storage/memory.
	Backend core.Backend
	// S3 describes an S3 bucket, used when Backend is nil.
	S3 *s3.Options
}

// AuthConfig configures the built-in authentication.
type AuthConfig struct {
	// Users who can log in with a password.
	Users []core.UserConfig
	// Tokens are fixed tokens, e.g. an admin token for CI.
	Tokens []core.StaticToken
	// PersistTokens keeps created tokens in Storage (as hashes) so they
	// survive restarts and are shared by replicas; otherwise in memory.
	PersistTokens bool
	// AnonymousRead lists the protocols anyone may read from.
	AnonymousRead []core.Protocol
	// JWTSecret signs OCI bearer tokens; replicas must share it. Random per
	// process when empty.
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
	}
}

// normalize fills in default base paths and checks what New cannot work
// with, naming the field.
func (c *Config) normalize() error {
	if c.Storage.Backend == nil {
		if c.Storage.S3 == nil {
			return errors.New("config Storage: set Storage.Backend or Storage.S3")
		}
		if c.Storage.S3.Bucket == "" {
			return errors.New("config Storage.S3.Bucket: missing bucket")
		}
		if c.Storage.S3.Endpoint == "" {
			return errors.New("config Storage.S3.Endpoint: missing endpoint")
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
		if !strings.HasPrefix(bp, "/") || (len(bp) > 1 && strings.HasSuffix(bp, "/")) || strings.ContainsAny(bp, "?#%") {
			return fmt.Errorf("config %s.BasePath: %q must start with / and not end with /", p.field, bp)
		}
		if other, dup := seen[bp]; dup {
			return fmt.Errorf("config %s.BasePath: %q is already used by %s", p.field, bp, other)
		}
		seen[bp] = p.field
		if u := p.cfg.RegistryURL; u != "" {
			parsed, err := url.Parse(u)
			if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
				return fmt.Errorf("config %s.RegistryURL: %q is not an absolute http(s) URL", p.field, u)
			}
			p.cfg.RegistryURL = strings.TrimSuffix(u, "/")
		}
	}
	for i, p := range c.Auth.AnonymousRead {
		if p == "" {
			return fmt.Errorf("config Auth.AnonymousRead[%d]: empty protocol", i)
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}
