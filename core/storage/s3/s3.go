package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/smartregistry/smartregistry/core"
)

const (
	defaultPartSize = 16 << 20
	minPartSize     = 5 << 20
	// maxSinglePut is the largest PUT S3 accepts; larger objects are
	// uploaded in parts.
	maxSinglePut = 5 << 30
	// maxParts is the largest number of parts of a multipart upload.
	maxParts = 10000
	// defaultCheckTimeout bounds New's reachability check and bucket
	// creation when Options.CheckTimeout is 0.
	defaultCheckTimeout = 10 * time.Second
)

// Backend stores objects in an S3 bucket.
type Backend struct {
	client   *minio.Client
	core     minio.Core
	bucket   string
	prefix   string
	partSize int64
}

var (
	_ core.Backend = (*Backend)(nil)
	_ core.Copier  = (*Backend)(nil)
	_ core.Pinger  = (*Backend)(nil)
	_ core.Mover   = (*Backend)(nil)
)

// New checks opts without the network (see [Options.Validate]), then
// checks, within ctx and Options.CheckTimeout, that the endpoint answers
// and the bucket exists, creating it when Options.CreateBucket is set.
// Errors name the option at fault ([*OptionError]) or the endpoint that
// could not be reached.
func New(ctx context.Context, opts Options) (*Backend, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	partSize := opts.PartSize
	if partSize == 0 {
		partSize = defaultPartSize
	}
	endpoint := opts.Endpoint
	if opts.Port != 0 {
		endpoint = net.JoinHostPort(strings.Trim(endpoint, "[]"), strconv.Itoa(opts.Port))
	}
	client, err := minio.New(endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(opts.AccessKey, opts.SecretKey, ""),
		Secure:    opts.UseSSL,
		Region:    opts.Region,
		Transport: opts.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	prefix := strings.TrimSuffix(opts.Prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	b := &Backend{client: client, core: minio.Core{Client: client}, bucket: opts.Bucket, prefix: prefix, partSize: partSize}
	timeout := opts.CheckTimeout
	if timeout <= 0 {
		timeout = defaultCheckTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := b.checkBucket(ctx, opts); err != nil {
		url := client.EndpointURL().String()
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("s3: no answer from %s within %v (Options.CheckTimeout): %w", url, timeout, err)
		}
		return nil, fmt.Errorf("s3: %s, bucket %s: %w", url, opts.Bucket, err)
	}
	return b, nil
}

// checkBucket checks that the bucket exists, creating it when opts allow.
func (b *Backend) checkBucket(ctx context.Context, opts Options) error {
	ok, err := b.client.BucketExists(ctx, b.bucket)
	if err != nil || ok {
		return err
	}
	if !opts.CreateBucket {
		return fmt.Errorf("%w: the bucket does not exist; create it, or set Options.CreateBucket", core.ErrNotFound)
	}
	err = b.client.MakeBucket(ctx, b.bucket, minio.MakeBucketOptions{Region: opts.Region})
	if code := minio.ToErrorResponse(err).Code; code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists" {
		return nil // created meanwhile by another instance
	}
	if err != nil {
		return fmt.Errorf("create bucket: %w", err)
	}
	return nil
}

// Client returns the underlying minio-go client.
func (b *Backend) Client() *minio.Client { return b.client }

// Bucket returns the bucket name.
func (b *Backend) Bucket() string { return b.bucket }

func (b *Backend) name(key string) string { return b.prefix + key }

// Stat describes the object at key.
func (b *Backend) Stat(ctx context.Context, key string) (core.ObjectInfo, error) {
	if err := core.ValidateKey(key); err != nil {
		return core.ObjectInfo{}, err
	}
	st, err := b.client.StatObject(ctx, b.bucket, b.name(key), minio.StatObjectOptions{})
	if err != nil {
		return core.ObjectInfo{}, mapError("stat", key, err)
	}
	return objectInfo(key, st), nil
}

// Get opens the object with one GET, which reports a missing key at once
// and describes the very object it streams. A range is sent as an HTTP
// Range; the cases S3 cannot express (zero length, the end of an empty
// object) are answered from a stat.
func (b *Backend) Get(ctx context.Context, key string, rng *core.ByteRange) (io.ReadCloser, core.ObjectInfo, error) {
	if err := core.ValidateKey(key); err != nil {
		return nil, core.ObjectInfo{}, err
	}
	if rng != nil && rng.Offset == 0 && rng.Length < 0 {
		rng = nil // the whole object
	}
	var gopts minio.GetObjectOptions
	if rng != nil {
		if rng.Offset < 0 || rng.Length == 0 {
			return b.getFromStat(ctx, key, rng)
		}
		end := int64(0) // to the end
		if rng.Length > 0 {
			end = rng.Offset + rng.Length - 1
		}
		if err := gopts.SetRange(rng.Offset, end); err != nil {
			return nil, core.ObjectInfo{}, fmt.Errorf("%w: get %s: %w", core.ErrInvalidArgument, key, err)
		}
	}
	rc, st, h, err := b.core.GetObject(ctx, b.bucket, b.name(key), gopts)
	if err != nil {
		err = mapError("get", key, err)
		if errors.Is(err, core.ErrRangeNotSatisfiable) {
			return b.getFromStat(ctx, key, rng)
		}
		return nil, core.ObjectInfo{}, err
	}
	info := objectInfo(key, st)
	if rng != nil {
		// Size is the whole object's: the total of the Content-Range.
		cr := h.Get("Content-Range")
		total, err := strconv.ParseInt(cr[strings.LastIndexByte(cr, '/')+1:], 10, 64)
		if err != nil {
			rc.Close()
			return nil, core.ObjectInfo{}, fmt.Errorf("get %s: server sent Content-Range %q for a range request", key, cr)
		}
		info.Size = total
	}
	return rc, info, nil
}

// getFromStat answers a range S3 cannot serve: an empty one (a zero length,
// or the end of an empty object), or an invalid one, with its error.
func (b *Backend) getFromStat(ctx context.Context, key string, rng *core.ByteRange) (io.ReadCloser, core.ObjectInfo, error) {
	info, err := b.Stat(ctx, key)
	if err != nil {
		return nil, core.ObjectInfo{}, err
	}
	_, n, err := rng.Resolve(info.Size)
	if err != nil {
		return nil, core.ObjectInfo{}, fmt.Errorf("get %s: %w", key, err)
	}
	if n != 0 {
		// The object grew since the GET that found the range invalid.
		return b.Get(ctx, key, rng)
	}
	return io.NopCloser(strings.NewReader("")), info, nil
}

// Delete removes the object; S3 does not mind a missing key.
func (b *Backend) Delete(ctx context.Context, key string) error {
	if err := core.ValidateKey(key); err != nil {
		return err
	}
	if err := b.client.RemoveObject(ctx, b.bucket, b.name(key), minio.RemoveObjectOptions{}); err != nil {
		return mapError("delete", key, err)
	}
	return nil
}

// Copy copies server-side: CopyObject up to 5 GiB, ComposeObject (a
// multipart copy) beyond. The source is pinned to the ETag stat saw.
func (b *Backend) Copy(ctx context.Context, srcKey, dstKey string) (core.ObjectInfo, error) {
	if err := core.ValidateKey(dstKey); err != nil {
		return core.ObjectInfo{}, err
	}
	src, err := b.Stat(ctx, srcKey)
	if err != nil {
		return core.ObjectInfo{}, err
	}
	srcOpts := minio.CopySrcOptions{Bucket: b.bucket, Object: b.name(srcKey), MatchETag: src.ETag}
	dstOpts := minio.CopyDestOptions{Bucket: b.bucket, Object: b.name(dstKey)}
	var up minio.UploadInfo
	if src.Size <= maxSinglePut {
		up, err = b.client.CopyObject(ctx, dstOpts, srcOpts)
	} else {
		up, err = b.client.ComposeObject(ctx, dstOpts, srcOpts)
	}
	if err != nil {
		return core.ObjectInfo{}, mapError("copy", srcKey+" to "+dstKey, err)
	}
	return core.ObjectInfo{Key: dstKey, Size: src.Size, ETag: up.ETag, ModTime: up.LastModified}, nil
}

// Ping checks that the bucket exists and the credentials can see it.
func (b *Backend) Ping(ctx context.Context) error {
	ok, err := b.client.BucketExists(ctx, b.bucket)
	if err != nil {
		return fmt.Errorf("s3: %w", err)
	}
	if !ok {
		return fmt.Errorf("s3: bucket %s does not exist", b.bucket)
	}
	return nil
}

func objectInfo(key string, st minio.ObjectInfo) core.ObjectInfo {
	return core.ObjectInfo{Key: key, Size: st.Size, ETag: strings.Trim(st.ETag, `"`), ModTime: st.LastModified}
}

// mapError puts S3 errors into core's categories by their code, keeping
// the original error in the chain.
func mapError(op, key string, err error) error {
	resp := minio.ToErrorResponse(err)
	var category error
	switch {
	case resp.Code == minio.NoSuchKey:
		category = core.ErrNotFound
	case resp.Code == "PreconditionFailed" || resp.StatusCode == http.StatusPreconditionFailed:
		category = core.ErrPreconditionFailed
	case resp.Code == "InvalidRange" || resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		category = core.ErrRangeNotSatisfiable
	case resp.Code == "EntityTooLarge":
		category = core.ErrTooLarge
	default:
		return fmt.Errorf("s3 %s %s: %w", op, key, err)
	}
	return fmt.Errorf("%w: s3 %s %s: %w", category, op, key, err)
}
