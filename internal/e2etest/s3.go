package e2etest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/filesystem"
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

// NamedBackend is a store a test runs on, opened per (sub)test.
type NamedBackend struct {
	Name string
	Open func(t *testing.T) core.Backend
}

// FilesystemAndS3 are the stores of tests that must hold on both: a fresh
// filesystem directory, and a fresh prefix of bucket on the test MinIO
// (skipped without one, unless tools are required).
func FilesystemAndS3(bucket string) []NamedBackend {
	return []NamedBackend{
		{"filesystem", func(t *testing.T) core.Backend {
			b, err := filesystem.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return b
		}},
		{"s3", func(t *testing.T) core.Backend { return S3Backend(t, S3Options(t, bucket, "test")) }},
	}
}

// MedianMS is the median of ds in milliseconds, for benchmarks that report
// medians of timed series.
func MedianMS(ds []time.Duration) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[len(s)/2]) / float64(time.Millisecond)
}

// ReportGrowth reports what a growth benchmark measured: the median time
// of the first 50 and the last 50 of a series of publishes, their ratio,
// publishes per second over the last 50 (as unit, e.g. "publishes/s"),
// and the time of the first read after the series.
func ReportGrowth(b *testing.B, times []time.Duration, firstRead time.Duration, unit string) {
	first, last := MedianMS(times[:50]), MedianMS(times[len(times)-50:])
	b.ReportMetric(first, "first50-ms")
	b.ReportMetric(last, "last50-ms")
	b.ReportMetric(last/first, "last/first")
	b.ReportMetric(1000/last, unit)
	b.ReportMetric(float64(firstRead)/float64(time.Millisecond), "first-read-ms")
}
