package s3_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"strconv"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/s3"
	"github.com/smartregistry/smartregistry/core/storage/storagetest"
	"github.com/smartregistry/smartregistry/internal/e2etest"
)

// testOptions returns options for a fresh bucket on the test MinIO, which
// is removed with everything in it when the test ends. Without an endpoint
// the test skips (fails with SMARTREGISTRY_REQUIRE_TOOLS=1).
func testOptions(tb testing.TB) s3.Options {
	tb.Helper()
	endpoint, access, secret := e2etest.S3Env(tb)
	host, portStr, err := net.SplitHostPort(endpoint)
	if err != nil {
		tb.Fatalf("%s=%q: want host:port: %v", e2etest.S3EndpointEnv, endpoint, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		tb.Fatalf("%s=%q: bad port: %v", e2etest.S3EndpointEnv, endpoint, err)
	}
	var suffix [6]byte
	rand.Read(suffix[:])
	opts := s3.Options{Endpoint: host, Port: port, AccessKey: access, SecretKey: secret,
		Bucket: "srtest-" + hex.EncodeToString(suffix[:]), Prefix: "reg", CreateBucket: true}
	first := newBackend(tb, opts)
	tb.Cleanup(func() { removeBucket(tb, first.Client(), opts.Bucket) })
	return opts
}

func newBackend(tb testing.TB, opts s3.Options) *s3.Backend {
	tb.Helper()
	b, err := s3.New(context.Background(), opts)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// factory gives each test its own bucket; every Open is a new client.
func factory(tb testing.TB) storagetest.Store {
	opts := testOptions(tb)
	return storagetest.Store{
		Open:      func(tb testing.TB) core.Backend { return newBackend(tb, opts) },
		Leftovers: func() ([]string, error) { return leftovers(newBackend(tb, opts).Client(), opts.Bucket) },
	}
}

// leftovers lists every object in the bucket, inside the backend's prefix
// or not, and every incomplete multipart upload.
func leftovers(c *minio.Client, bucket string) ([]string, error) {
	ctx := context.Background()
	var left []string
	for o := range c.ListObjectsIter(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			return left, o.Err
		}
		left = append(left, o.Key)
	}
	for u := range c.ListIncompleteUploads(ctx, bucket, "", true) {
		if u.Err != nil {
			return left, u.Err
		}
		left = append(left, "incomplete upload of "+u.Key)
	}
	return left, nil
}

// removeBucket empties and removes the bucket.
func removeBucket(tb testing.TB, c *minio.Client, bucket string) {
	ctx := context.Background()
	for o := range c.ListObjectsIter(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err == nil {
			c.RemoveObject(ctx, bucket, o.Key, minio.RemoveObjectOptions{})
		}
	}
	for u := range c.ListIncompleteUploads(ctx, bucket, "", true) {
		if u.Err == nil {
			c.RemoveIncompleteUpload(ctx, bucket, u.Key)
		}
	}
	if err := c.RemoveBucket(ctx, bucket); err != nil {
		tb.Errorf("remove bucket %s: %v", bucket, err)
	}
}

// The tests skip once, up front, when there is no endpoint.

func TestConformance(t *testing.T) {
	e2etest.S3Env(t)
	storagetest.Run(t, factory)
}

func TestLargeObject(t *testing.T) {
	e2etest.S3Env(t)
	storagetest.RunLargeObject(t, factory)
}

func BenchmarkPutGet(b *testing.B) {
	e2etest.S3Env(b)
	storagetest.BenchmarkPutGet(b, factory)
}
