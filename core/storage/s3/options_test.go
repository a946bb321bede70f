package s3_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/s3"
)

// TestOptionErrors: New refuses bad options before it goes to the network,
// naming every field at fault.
func TestOptionErrors(t *testing.T) {
	ok := s3.Options{Endpoint: "s3.example.com", Bucket: "packages"}
	with := func(change func(o *s3.Options)) s3.Options {
		o := ok
		change(&o)
		return o
	}
	tests := []struct {
		name   string
		opts   s3.Options
		fields []string // in order; nil: valid
		want   string   // in the message
	}{
		{"valid", ok, nil, ""},
		{"valid with everything", with(func(o *s3.Options) {
			o.Endpoint, o.Port, o.AccessKey, o.SecretKey, o.Prefix = "127.0.0.1", 9000, "id", "secret", "team/reg/"
		}), nil, ""},
		{"IPv6 address", with(func(o *s3.Options) { o.Endpoint, o.Port = "::1", 9000 }), nil, ""},
		{"nothing", s3.Options{}, []string{"Endpoint", "Bucket"}, "missing"},
		{"https scheme", with(func(o *s3.Options) { o.Endpoint = "https://s3.example.com" }), []string{"Endpoint"}, "set UseSSL: true"},
		{"http scheme and port", with(func(o *s3.Options) { o.Endpoint = "http://minio:9000/" }), []string{"Endpoint"},
			`("minio" and the port in Port) and leave UseSSL false`},
		{"port", with(func(o *s3.Options) { o.Endpoint = "minio.internal:9000" }), []string{"Endpoint"}, `"minio.internal" in Endpoint and 9000 in Port`},
		{"bracketed IPv6 with port", with(func(o *s3.Options) { o.Endpoint = "[::1]:9000" }), []string{"Endpoint"}, "has a port"},
		{"path", with(func(o *s3.Options) { o.Endpoint = "s3.example.com/bucket" }), []string{"Endpoint"}, "has a path"},
		{"not a host", with(func(o *s3.Options) { o.Endpoint = "user@s3.example.com" }), []string{"Endpoint"}, "not a host name"},
		{"bad port", with(func(o *s3.Options) { o.Port = 70000 }), []string{"Port"}, "not a port number"},
		{"bad bucket", with(func(o *s3.Options) { o.Bucket = "Packages_" }), []string{"Bucket"}, "Packages_"},
		{"access key alone", with(func(o *s3.Options) { o.AccessKey = "id" }), []string{"SecretKey"}, "missing while AccessKey is set"},
		{"secret key alone", with(func(o *s3.Options) { o.SecretKey = "s" }), []string{"AccessKey"}, "missing while SecretKey is set"},
		{"prefix with ..", with(func(o *s3.Options) { o.Prefix = "reg/../other" }), []string{"Prefix"}, `".." segment`},
		{"prefix with leading /", with(func(o *s3.Options) { o.Prefix = "/reg" }), []string{"Prefix"}, `starts with "/"`},
		{"prefix with empty segment", with(func(o *s3.Options) { o.Prefix = "a//b" }), []string{"Prefix"}, "not a valid key prefix"},
		{"small parts", with(func(o *s3.Options) { o.PartSize = 1 << 20 }), []string{"PartSize"}, "5 MiB"},
		{"negative timeout", with(func(o *s3.Options) { o.CheckTimeout = -time.Second }), []string{"CheckTimeout"}, "negative"},
		{"several", s3.Options{Endpoint: "https://x", Prefix: "/p", AccessKey: "a"},
			[]string{"Endpoint", "Bucket", "SecretKey", "Prefix"}, "; "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted the options")
			}
			var fields []string
			for _, e := range unwrapAll(err) {
				var oe *s3.OptionError
				if errors.As(e, &oe) {
					fields = append(fields, oe.Field)
				}
			}
			if strings.Join(fields, ",") != strings.Join(tt.fields, ",") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%v: fields %v, want %v with %q", err, fields, tt.fields, tt.want)
			}
			if !errors.Is(err, core.ErrInvalidArgument) {
				t.Errorf("%v is not ErrInvalidArgument", err)
			}
			// New refuses the same, without the network.
			if _, newErr := s3.New(t.Context(), tt.opts); newErr == nil || newErr.Error() != err.Error() {
				t.Errorf("New: %v, want %v", newErr, err)
			}
		})
	}
}

// unwrapAll returns err, or the errors it joins.
func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// TestNewUnreachable: an endpoint nobody listens on fails New quickly,
// naming it, and so does a context that ends first.
func TestNewUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // nothing listens there now
	opts := s3.Options{Endpoint: "127.0.0.1", Port: port, Bucket: "packages", CheckTimeout: 5 * time.Second}
	ended, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		want string
	}{
		{"refused", t.Context(), "127.0.0.1:"},
		{"context ended", ended, "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := s3.New(tt.ctx, opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want an error with %q", err, tt.want)
			}
			if d := time.Since(start); d > 4*time.Second {
				t.Errorf("New took %v", d)
			}
		})
	}
}

// TestNewChecksBucket: on the test MinIO, New refuses a missing bucket
// unless CreateBucket is set, and wrong credentials. Skips without an
// endpoint.
func TestNewChecksBucket(t *testing.T) {
	opts := testOptions(t) // a fresh bucket, created and removed by the test
	missing := opts
	missing.Bucket, missing.CreateBucket = opts.Bucket+"-missing", false
	wrongKey := opts
	wrongKey.SecretKey += "-wrong"
	tests := []struct {
		name     string
		opts     s3.Options
		want     string // "" for success
		category error
	}{
		{"existing bucket", func() s3.Options { o := opts; o.CreateBucket = false; return o }(), "", nil},
		{"missing bucket", missing, "does not exist; create it, or set Options.CreateBucket", core.ErrNotFound},
		{"wrong secret key", wrongKey, opts.Bucket, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s3.New(t.Context(), tt.opts)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want an error with %q", err, tt.want)
			}
			if tt.category != nil && !errors.Is(err, tt.category) {
				t.Errorf("New: %v is not %v", err, tt.category)
			}
		})
	}
}
