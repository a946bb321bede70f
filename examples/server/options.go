package main

import (
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/smartregistry/smartregistry"
	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/filesystem"
	"github.com/smartregistry/smartregistry/core/storage/s3"
	"github.com/smartregistry/smartregistry/upstream"
)

// options are the server's settings after flags and environment.
type options struct {
	addr, data, publicURL                 string
	s3Endpoint, s3Bucket, s3Key, s3Secret string
	s3SSL                                 bool
	adminUser, adminPassword, token       string
	jwtSecret                             string
	anonymousRead                         []core.Protocol
	upstreams                             upstreamOptions
}

func parseOptions(args []string, getenv func(string) string) (options, error) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	var o options
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.StringVar(&o.addr, "addr", env("SMARTREGISTRY_ADDR", "127.0.0.1:8080"), "listen address")
	fs.StringVar(&o.data, "data", env("SMARTREGISTRY_DATA", "./data"), "filesystem storage directory")
	fs.StringVar(&o.publicURL, "url", env("SMARTREGISTRY_URL", ""), "public URL of the server")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.s3Endpoint = getenv("SMARTREGISTRY_S3_ENDPOINT")
	o.s3Bucket = env("SMARTREGISTRY_S3_BUCKET", "smartregistry")
	o.s3Key = getenv("SMARTREGISTRY_S3_ACCESS_KEY")
	o.s3Secret = getenv("SMARTREGISTRY_S3_SECRET_KEY")
	o.s3SSL = getenv("SMARTREGISTRY_S3_SSL") == "true"
	o.adminUser = env("SMARTREGISTRY_ADMIN_USER", "admin")
	o.adminPassword = getenv("SMARTREGISTRY_ADMIN_PASSWORD")
	o.token = getenv("SMARTREGISTRY_TOKEN")
	o.jwtSecret = getenv("SMARTREGISTRY_JWT_SECRET")
	for p := range strings.SplitSeq(getenv("SMARTREGISTRY_ANONYMOUS_READ"), ",") {
		if p = strings.TrimSpace(p); p != "" {
			o.anonymousRead = append(o.anonymousRead, core.Protocol(p))
		}
	}
	var err error
	if o.upstreams, err = parseUpstreams(getenv); err != nil {
		return o, err
	}
	if o.publicURL != "" {
		u, err := url.Parse(o.publicURL)
		if err != nil || u.Host == "" {
			return o, fmt.Errorf("SMARTREGISTRY_URL: %q is not an absolute URL", o.publicURL)
		}
		o.publicURL = strings.TrimSuffix(o.publicURL, "/")
	}
	return o, nil
}

// registryConfig builds the registry configuration: every built protocol
// enabled, storage on the filesystem unless an S3 endpoint is given.
func (o options) registryConfig(log *slog.Logger, out io.Writer) (smartregistry.Config, string, error) {
	cfg := smartregistry.Config{Logger: log}
	backendName := "filesystem"
	if o.s3Endpoint != "" {
		host, port, err := splitEndpoint(o.s3Endpoint)
		if err != nil {
			return cfg, "", err
		}
		cfg.Storage.S3 = &s3.Options{Endpoint: host, Port: port, UseSSL: o.s3SSL, Bucket: o.s3Bucket, CreateBucket: true,
			AccessKey: o.s3Key, SecretKey: o.s3Secret}
		backendName = "s3"
	} else {
		dir, err := filepath.Abs(o.data)
		if err != nil {
			return cfg, "", err
		}
		b, err := filesystem.New(dir)
		if err != nil {
			return cfg, "", fmt.Errorf("storage %s: %w", dir, err)
		}
		cfg.Storage.Backend = b
	}

	password := o.adminPassword
	if password == "" {
		password = randomHex(12)
		fmt.Fprintf(out, "generated password for %q: %s (set SMARTREGISTRY_ADMIN_PASSWORD to choose one)\n", o.adminUser, password)
	}
	cfg.Auth = smartregistry.AuthConfig{
		Users:         []core.UserConfig{{Username: o.adminUser, Password: password}},
		PersistTokens: true,
		LoginThrottle: core.DefaultLoginThrottle,
		AnonymousRead: o.anonymousRead,
		JWTSecret:     o.jwtSecret,
	}
	if o.token != "" {
		cfg.Auth.Tokens = []core.StaticToken{{Token: o.token, UserID: o.adminUser}}
	}

	if static, err := o.upstreams.provider(); err != nil {
		return cfg, "", err
	} else if static != nil {
		cfg.Upstream = static
	}
	for _, p := range []*upstream.Policy{&cfg.NPM.Upstream, &cfg.PyPI.Upstream, &cfg.Cargo.Upstream,
		&cfg.Composer.Upstream, &cfg.OCI.Upstream, &cfg.RubyGems.Upstream, &cfg.Maven.Upstream} {
		*p = o.upstreams.policy
	}

	for proto, pc := range map[core.Protocol]*core.ProtocolConfig{
		core.ProtocolOCI: &cfg.OCI.ProtocolConfig, core.ProtocolNPM: &cfg.NPM.ProtocolConfig,
		core.ProtocolPyPI: &cfg.PyPI.ProtocolConfig, core.ProtocolCargo: &cfg.Cargo.ProtocolConfig,
		core.ProtocolComposer: &cfg.Composer.ProtocolConfig, core.ProtocolRubyGems: &cfg.RubyGems.ProtocolConfig,
		core.ProtocolMaven: &cfg.Maven.ProtocolConfig,
	} {
		pc.Enabled = true
		if o.publicURL != "" {
			pc.RegistryURL = o.publicURL + "/" + string(proto)
		}
	}
	return cfg, backendName, nil
}

func splitEndpoint(ep string) (string, int, error) {
	host, portStr, found := strings.Cut(ep, ":")
	if !found {
		return host, 0, nil
	}
	var port int
	if _, err := fmt.Sscan(portStr, &port); err != nil || port <= 0 || port > 65535 {
		return "", 0, fmt.Errorf("SMARTREGISTRY_S3_ENDPOINT: bad port in %q", ep)
	}
	return host, port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
