package smartregistry

import (
	"strings"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/core/storage/s3"
)

func TestNewRefusesBadConfig(t *testing.T) {
	mem := StorageConfig{Backend: memory.New()}
	tests := []struct {
		name  string
		cfg   func(c *Config)
		field string // the error must start with "config <field>"
	}{
		{"no storage", func(c *Config) { c.Storage = StorageConfig{} }, "Storage"},
		// The s3 package names the option: "config Storage.S3: s3 Options.Bucket: missing".
		{"S3 without bucket", func(c *Config) {
			c.Storage = StorageConfig{S3: &s3.Options{Endpoint: "s3.example.com", AccessKey: "a", SecretKey: "s"}}
		}, "Storage.S3"},
		{"S3 without endpoint", func(c *Config) {
			c.Storage = StorageConfig{S3: &s3.Options{Bucket: "packages"}}
		}, "Storage.S3"},
		{"S3 endpoint with a scheme", func(c *Config) {
			c.Storage = StorageConfig{S3: &s3.Options{Endpoint: "https://s3.example.com", Bucket: "packages"}}
		}, "Storage.S3"},
		{"two protocols on one base path", func(c *Config) {
			c.NPM.Enabled, c.NPM.BasePath = true, "/packages"
			c.PyPI.Enabled, c.PyPI.BasePath = true, "/packages"
		}, "PyPI.BasePath"},
		{"a default base path taken", func(c *Config) {
			c.NPM.Enabled, c.NPM.BasePath = true, "/pypi"
			c.PyPI.Enabled = true
		}, "PyPI.BasePath"},
		{"base path under /v2 with OCI on", func(c *Config) {
			c.OCI.Enabled = true
			c.NPM.Enabled, c.NPM.BasePath = true, "/v2"
		}, "NPM.BasePath"},
		{"OCI itself at /v2", func(c *Config) { c.OCI.Enabled, c.OCI.BasePath = true, "/v2" }, "OCI.BasePath"},
		{"relative base path", func(c *Config) { c.NPM.Enabled, c.NPM.BasePath = true, "npm" }, "NPM.BasePath"},
		{"base path ending in /", func(c *Config) { c.NPM.Enabled, c.NPM.BasePath = true, "/npm/" }, "NPM.BasePath"},
		{"empty segment", func(c *Config) { c.NPM.Enabled, c.NPM.BasePath = true, "/a//npm" }, "NPM.BasePath"},
		{"dot-dot segment", func(c *Config) { c.OCI.Enabled, c.OCI.BasePath = true, "/a/../oci" }, "OCI.BasePath"},
		{"escaped base path", func(c *Config) { c.NPM.Enabled, c.NPM.BasePath = true, "/np%6D" }, "NPM.BasePath"},
		{"space in base path", func(c *Config) { c.NPM.Enabled, c.NPM.BasePath = true, "/my npm" }, "NPM.BasePath"},
		{"query in base path", func(c *Config) { c.NPM.Enabled, c.NPM.BasePath = true, "/npm?x" }, "NPM.BasePath"},
		{"RegistryURL not absolute", func(c *Config) { c.NPM.Enabled, c.NPM.RegistryURL = true, "registry.example.com/npm" }, "NPM.RegistryURL"},
		{"RegistryURL not http", func(c *Config) { c.PyPI.Enabled, c.PyPI.RegistryURL = true, "ftp://registry.example.com/pypi" }, "PyPI.RegistryURL"},
		{"RegistryURL unparsable", func(c *Config) { c.OCI.Enabled, c.OCI.RegistryURL = true, "http://[::1" }, "OCI.RegistryURL"},
		{"RegistryURL with query", func(c *Config) { c.NPM.Enabled, c.NPM.RegistryURL = true, "https://r.example/npm?x=1" }, "NPM.RegistryURL"},
		{"RegistryURL with user", func(c *Config) { c.NPM.Enabled, c.NPM.RegistryURL = true, "https://u:p@r.example/npm" }, "NPM.RegistryURL"},
		{"anonymous read of an unknown protocol", func(c *Config) {
			c.Auth.AnonymousRead = []core.Protocol{core.ProtocolNPM, "NPM"}
		}, "Auth.AnonymousRead[1]"},
		{"anonymous read of nothing", func(c *Config) { c.Auth.AnonymousRead = []core.Protocol{""} }, "Auth.AnonymousRead[0]"},
		{"users beside AuthProvider", func(c *Config) {
			c.AuthProvider = &core.DefaultAuthProvider{}
			c.Auth.Users = []core.UserConfig{{Username: "u", Password: "p"}}
		}, "Auth.Users"},
		{"tokens beside AuthProvider", func(c *Config) {
			c.AuthProvider = &core.DefaultAuthProvider{}
			c.Auth.Tokens = []core.StaticToken{{Token: "t", UserID: "u"}}
		}, "Auth.Tokens"},
		{"persisted tokens beside AuthProvider", func(c *Config) {
			c.AuthProvider, c.Auth.PersistTokens = &core.DefaultAuthProvider{}, true
		}, "Auth.PersistTokens"},
		{"token cache beside AuthProvider", func(c *Config) {
			c.AuthProvider, c.Auth.TokenCacheTTL = &core.DefaultAuthProvider{}, time.Minute
		}, "Auth.TokenCacheTTL"},
		{"short JWT secret", func(c *Config) { c.Auth.JWTSecret = "0123456789abcdef0123456789abcde" }, "Auth.JWTSecret"},
		{"bad user", func(c *Config) { c.Auth.Users = []core.UserConfig{{Username: "u"}} }, "Auth"},
		{"bad token scope", func(c *Config) {
			c.Auth.Tokens = []core.StaticToken{{Token: "t", UserID: "u", Scopes: []string{"everything"}}}
		}, "Auth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Storage: mem}
			tt.cfg(&cfg)
			r, err := New(cfg)
			if err == nil {
				r.Close(t.Context())
				t.Fatal("New accepted the config")
			}
			if !strings.HasPrefix(err.Error(), "config "+tt.field+":") {
				t.Errorf("error %q does not name %s", err, tt.field)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	cfg := Config{Storage: StorageConfig{Backend: memory.New()}}
	cfg.OCI.Enabled = true
	cfg.NPM.Enabled = true
	cfg.NPM.RegistryURL = "https://r.example.com/npm/"
	cfg.PyPI.Enabled = true
	cfg.PyPI.BasePath = "/"
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(t.Context())
	if r.OCI() == nil || r.NPM() == nil || r.PyPI() == nil {
		t.Fatal("an enabled protocol has no handler")
	}
	if r.log == nil {
		t.Error("no default logger")
	}
	bases := map[core.Protocol]string{}
	for _, m := range r.mounts {
		bases[m.handler.Protocol()] = m.base
		if m.handler.Protocol() == core.ProtocolNPM && m.cfg.RegistryURL != "https://r.example.com/npm" {
			t.Errorf("RegistryURL %q keeps its trailing slash", m.cfg.RegistryURL)
		}
	}
	want := map[core.Protocol]string{core.ProtocolOCI: "/oci", core.ProtocolNPM: "/npm", core.ProtocolPyPI: "/"}
	for p, b := range want {
		if bases[p] != b {
			t.Errorf("%s mounted at %q, want %q", p, bases[p], b)
		}
	}
	// The caller's Config is not changed.
	if cfg.OCI.BasePath != "" || cfg.Logger != nil {
		t.Error("New changed the caller's Config")
	}
}

func TestCheckBasePath(t *testing.T) {
	for _, ok := range []string{"/", "/npm", "/npm-internal", "/a/b/c", "/v1.2_x~y"} {
		if err := checkBasePath(ok); err != nil {
			t.Errorf("checkBasePath(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "npm", "//", "/npm/", "/a//b", "/./a", "/a/..", "/a%2fb", "/a b", "/a?b", "/a#b", "/ä"} {
		if err := checkBasePath(bad); err == nil {
			t.Errorf("checkBasePath(%q) accepted", bad)
		}
	}
}
