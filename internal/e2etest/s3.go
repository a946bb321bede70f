package e2etest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"strconv"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/s3"
)

// S3Options returns the options of a store on the test MinIO: bucket,
// under a fresh prefix (named after prefix) whose objects are removed when
// the test ends. Without an endpoint the test skips (fails when tools are
// required).
func S3Options(t testing.TB, bucket, prefix string) s3.Options {
	t.Helper()
	endpoint, access, secret := S3Env(t)
	host, port, err := net.SplitHostPort(endpoint)
	if err != nil {
		t.Fatalf("%s=%q: want host:port: %v", S3EndpointEnv, endpoint, err)
	}
	portNum, err := strconv.Atoi(port)
	if err != nil {
		t.Fatalf("%s=%q: bad port: %v", S3EndpointEnv, endpoint, err)
	}
	var suffix [6]byte
	rand.Read(suffix[:])
	opts := s3.Options{Endpoint: host, Port: portNum, AccessKey: access, SecretKey: secret, Bucket: bucket,
		CreateBucket: true, Prefix: prefix + "-" + hex.EncodeToString(suffix[:])}
	t.Cleanup(func() {
		ctx := context.Background() // t.Context is done in cleanups
		st := core.NewStorage(S3Backend(t, opts), core.StorageHooks{})
		var keys []string
		if err := st.Walk(ctx, "", func(o core.ObjectInfo) error {
			keys = append(keys, o.Key)
			return nil
		}); err != nil {
			t.Errorf("list test objects: %v", err)
		}
		for _, k := range keys {
			if err := st.Delete(ctx, k); err != nil {
				t.Errorf("delete %s: %v", k, err)
			}
		}
	})
	return opts
}

// S3Backend opens a new client on opts: one per registry instance.
func S3Backend(t testing.TB, opts s3.Options) *s3.Backend {
	t.Helper()
	b, err := s3.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
