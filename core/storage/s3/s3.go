// Package s3 is the S3 storage backend, built on minio-go. It works with
// AWS S3, MinIO and other S3-compatible servers that honour conditional
// writes (If-None-Match: * and If-Match).
package s3

import (
	"errors"

	"github.com/smartregistry/smartregistry/core"
)

// Options describe the S3 endpoint and bucket.
type Options struct {
	// Endpoint is the host name, without scheme, e.g. "s3.amazonaws.com".
	Endpoint string
	// Port, when not 0, is appended to Endpoint.
	Port int
	// UseSSL selects https.
	UseSSL    bool
	Region    string
	Bucket    string
	AccessKey string
	SecretKey string
	// Prefix is prepended to every key, so several registries can share a
	// bucket.
	Prefix string
}

// Backend stores objects in an S3 bucket.
type Backend struct{ core.Backend }

// New connects to the bucket.
func New(opts Options) (*Backend, error) {
	return nil, errors.New("s3: not implemented yet")
}

var _ core.Backend = (*Backend)(nil)
