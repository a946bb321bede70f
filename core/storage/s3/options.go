package s3

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/smartregistry/smartregistry/core"
)

// Options describe the S3 endpoint and bucket. The zero value of every
// optional field means its default.
type Options struct {
	// Endpoint is the host name or IP address only, without scheme, port
	// or path, e.g. "s3.amazonaws.com" or "127.0.0.1". Required.
	Endpoint string
	// Port, when not 0, is the endpoint's port.
	Port int
	// UseSSL selects https.
	UseSSL bool
	// Region is the bucket's region; empty lets the client discover it.
	Region string
	// Bucket is the bucket name. Required.
	Bucket string
	// CreateBucket makes New create Bucket when it does not exist;
	// otherwise a missing bucket is an error.
	CreateBucket bool
	// AccessKey is the access key ID of static credentials. Give it and
	// SecretKey, or neither for anonymous access.
	AccessKey string
	// SecretKey is the secret of static credentials; see AccessKey.
	SecretKey string
	// Prefix is prepended to every key, so several registries can share a
	// bucket. A "/" is added if it does not end in one: Prefix "reg1" keeps
	// key "a/b" at "reg1/a/b". It must not start with "/" nor have empty,
	// "." or ".." segments.
	Prefix string
	// PartSize is the size of the parts of multipart uploads, and so the
	// memory a put of unknown size holds; 0 means 16 MiB. S3 requires at
	// least 5 MiB.
	PartSize int64
	// CheckTimeout bounds New's check that the endpoint answers and the
	// bucket exists (and its creation); 0 means 10 seconds.
	CheckTimeout time.Duration
	// Transport replaces the HTTP transport, e.g. for custom TLS roots.
	Transport http.RoundTripper
}

// OptionError is a problem with one field of [Options], found without the
// network. It is a [core.ErrInvalidArgument].
type OptionError struct {
	// Field is the Options field at fault, e.g. "Endpoint".
	Field string
	// Problem says what is wrong and how to put it right.
	Problem string
}

// Error returns "s3 Options.<Field>: <Problem>".
func (e *OptionError) Error() string { return "s3 Options." + e.Field + ": " + e.Problem }

// Unwrap makes an OptionError match [core.ErrInvalidArgument].
func (e *OptionError) Unwrap() error { return core.ErrInvalidArgument }

// optionErrors are several OptionErrors, reported together.
type optionErrors []error

func (e optionErrors) Error() string {
	parts := make([]string, len(e))
	for i, err := range e {
		parts[i] = err.Error()
	}
	return strings.Join(parts, "; ")
}

func (e optionErrors) Unwrap() []error { return e }

// Validate reports, without the network, every field of o that New cannot
// work with, each as an [*OptionError] (several are joined: errors.As
// finds the first).
func (o Options) Validate() error {
	var errs optionErrors
	add := func(field, format string, args ...any) {
		errs = append(errs, &OptionError{Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	if p := endpointProblem(o.Endpoint); p != "" {
		add("Endpoint", "%s", p)
	}
	if o.Port < 0 || o.Port > 65535 {
		add("Port", "%d is not a port number", o.Port)
	}
	if o.Bucket == "" {
		add("Bucket", "missing")
	} else if err := s3utils.CheckValidBucketName(o.Bucket); err != nil {
		add("Bucket", "%q: %v", o.Bucket, err)
	}
	switch {
	case o.AccessKey != "" && o.SecretKey == "":
		add("SecretKey", "missing while AccessKey is set; give both, or neither for anonymous access")
	case o.AccessKey == "" && o.SecretKey != "":
		add("AccessKey", "missing while SecretKey is set; give both, or neither for anonymous access")
	}
	if p := prefixProblem(o.Prefix); p != "" {
		add("Prefix", "%q %s", o.Prefix, p)
	}
	if o.PartSize != 0 && o.PartSize < minPartSize {
		add("PartSize", "%d is under S3's minimum of 5 MiB", o.PartSize)
	}
	if o.CheckTimeout < 0 {
		add("CheckTimeout", "%v is negative", o.CheckTimeout)
	}
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errs
}

// endpointProblem says what is wrong with an Endpoint, or "".
func endpointProblem(ep string) string {
	switch {
	case ep == "":
		return `missing: the host name, e.g. "s3.amazonaws.com" or "127.0.0.1"`
	case strings.Contains(ep, "://"):
		scheme, host, _ := strings.Cut(ep, "://")
		host, _, _ = strings.Cut(host, "/")
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h + `" and the port in Port`
		} else {
			host += `"`
		}
		ssl := "leave UseSSL false"
		if strings.EqualFold(scheme, "https") {
			ssl = "set UseSSL: true"
		}
		return fmt.Sprintf("%q has a scheme: give the host name only (\"%s) and %s", ep, host, ssl)
	case strings.ContainsAny(ep, "/?#"):
		return fmt.Sprintf("%q has a path: give the host name only", ep)
	case strings.ContainsAny(ep, " \t@"):
		return fmt.Sprintf("%q is not a host name", ep)
	}
	if host, port, err := net.SplitHostPort(ep); err == nil {
		return fmt.Sprintf("%q has a port: give %q in Endpoint and %s in Port", ep, host, port)
	}
	if strings.Contains(strings.Trim(ep, "[]"), ":") && net.ParseIP(strings.Trim(ep, "[]")) == nil {
		return fmt.Sprintf("%q is not a host name", ep)
	}
	return ""
}

// prefixProblem says what is wrong with a Prefix, or "".
func prefixProblem(prefix string) string {
	if prefix == "" {
		return ""
	}
	if strings.HasPrefix(prefix, "/") {
		return `starts with "/": give it without, e.g. "registry"`
	}
	for seg := range strings.SplitSeq(prefix, "/") {
		if seg == ".." {
			return `has a ".." segment`
		}
	}
	if err := core.ValidatePrefix(prefix); err != nil {
		return "is not a valid key prefix (no empty or \".\" segments, control characters or leading dot)"
	}
	return ""
}
