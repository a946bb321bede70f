package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/minio/minio-go/v7"

	"github.com/smartregistry/smartregistry/core"
)

// Put stores r at key; see the package doc for how sizes and conditions
// shape the upload.
func (b *Backend) Put(ctx context.Context, key string, r io.Reader, size int64, opts core.PutOptions) (core.ObjectInfo, error) {
	if err := core.ValidateKey(key); err != nil {
		return core.ObjectInfo{}, err
	}
	cr := &checkedReader{r: r, size: size}
	var info core.ObjectInfo
	var err error
	switch {
	case size >= 0 && size <= maxSinglePut:
		info, err = b.putSingle(ctx, key, cr, size, opts)
	case size >= 0:
		info, err = b.putMultipart(ctx, key, cr, nil, opts)
	default:
		info, err = b.putUnknown(ctx, key, cr, opts)
	}
	if cr.err != nil {
		// The reader's own failure (a size mismatch, a broken body) is
		// the cause, whatever minio-go made of it.
		return core.ObjectInfo{}, fmt.Errorf("put %s: %w", key, cr.err)
	}
	if err != nil {
		err = mapError("put", key, err)
		if opts.IfMatch != "" && errors.Is(err, core.ErrNotFound) {
			// S3 answers If-Match on a missing key with NoSuchKey.
			return core.ObjectInfo{}, fmt.Errorf("%w: %w", core.ErrPreconditionFailed, err)
		}
		return core.ObjectInfo{}, err
	}
	return info, nil
}

// putOptions are minio-go's options for the request that makes the object
// visible, carrying opts' condition.
func putOptions(opts core.PutOptions) minio.PutObjectOptions {
	po := minio.PutObjectOptions{ContentType: opts.ContentType, DisableMultipart: true}
	if opts.IfAbsent {
		po.SetMatchETagExcept("*")
	}
	if opts.IfMatch != "" {
		po.SetMatchETag(opts.IfMatch)
	}
	return po
}

// putSingle uploads r in one streamed PUT.
func (b *Backend) putSingle(ctx context.Context, key string, r io.Reader, size int64, opts core.PutOptions) (core.ObjectInfo, error) {
	up, err := b.client.PutObject(ctx, b.bucket, b.name(key), r, size, putOptions(opts))
	if err != nil {
		return core.ObjectInfo{}, err
	}
	return core.ObjectInfo{Key: key, Size: size, ETag: up.ETag, ModTime: up.LastModified}, nil
}

// parts recycles part buffers between uploads of unknown size.
var parts sync.Pool

func (b *Backend) partBuffer() (*[]byte, func()) {
	if p, ok := parts.Get().(*[]byte); ok && int64(len(*p)) == b.partSize {
		return p, func() { parts.Put(p) }
	}
	buf := make([]byte, b.partSize)
	return &buf, func() { parts.Put(&buf) }
}

// putUnknown reads the first part; a stream that ends within it is one PUT,
// a longer one a multipart upload.
func (b *Backend) putUnknown(ctx context.Context, key string, r io.Reader, opts core.PutOptions) (core.ObjectInfo, error) {
	buf, release := b.partBuffer()
	defer release()
	n, err := io.ReadFull(r, *buf)
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return b.putSingle(ctx, key, bytes.NewReader((*buf)[:n]), int64(n), opts)
	case err != nil:
		return core.ObjectInfo{}, err
	}
	return b.putMultipart(ctx, key, r, *buf, opts)
}

// putMultipart uploads r in parts of b.partSize through one buffer; first,
// when not nil, is a full first part already read. The condition goes on
// the completion, and is checked once before uploading to fail early.
func (b *Backend) putMultipart(ctx context.Context, key string, r io.Reader, first []byte, opts core.PutOptions) (info core.ObjectInfo, err error) {
	if err := b.checkCondition(ctx, key, opts); err != nil {
		return core.ObjectInfo{}, err
	}
	name := b.name(key)
	id, err := b.core.NewMultipartUpload(ctx, b.bucket, name, minio.PutObjectOptions{ContentType: opts.ContentType})
	if err != nil {
		return core.ObjectInfo{}, err
	}
	defer func() {
		if err != nil {
			// Abort even when ctx has ended; the parts cost storage.
			b.core.AbortMultipartUpload(context.WithoutCancel(ctx), b.bucket, name, id)
		}
	}()
	buf := first
	if buf == nil {
		p, release := b.partBuffer()
		defer release()
		buf = *p
	}
	var done []minio.CompletePart
	var size int64
	for num := 1; ; num++ {
		n := len(buf)
		var rerr error
		if num > 1 || first == nil {
			n, rerr = io.ReadFull(r, buf)
		}
		if rerr != nil && !errors.Is(rerr, io.EOF) && !errors.Is(rerr, io.ErrUnexpectedEOF) {
			return core.ObjectInfo{}, rerr
		}
		if n == 0 && num > 1 {
			break
		}
		if num > maxParts {
			return core.ObjectInfo{}, fmt.Errorf("%w: over %d parts of %d bytes", core.ErrTooLarge, maxParts, len(buf))
		}
		part, err := b.core.PutObjectPart(ctx, b.bucket, name, id, num, bytes.NewReader(buf[:n]), int64(n), minio.PutObjectPartOptions{})
		if err != nil {
			return core.ObjectInfo{}, err
		}
		done = append(done, minio.CompletePart{PartNumber: num, ETag: part.ETag})
		size += int64(n)
		if rerr != nil {
			break
		}
	}
	up, err := b.core.CompleteMultipartUpload(ctx, b.bucket, name, id, done, putOptions(opts))
	if err != nil {
		return core.ObjectInfo{}, err
	}
	return core.ObjectInfo{Key: key, Size: size, ETag: up.ETag, ModTime: up.LastModified}, nil
}

// checkCondition fails early, before a long upload, when opts' condition
// already does not hold. The completion checks it again, atomically.
func (b *Backend) checkCondition(ctx context.Context, key string, opts core.PutOptions) error {
	if !opts.IfAbsent && opts.IfMatch == "" {
		return nil
	}
	st, err := b.Stat(ctx, key)
	switch {
	case errors.Is(err, core.ErrNotFound):
		if opts.IfMatch != "" {
			return fmt.Errorf("%w: no object", core.ErrPreconditionFailed)
		}
		return nil
	case err != nil:
		return err
	case opts.IfAbsent:
		return fmt.Errorf("%w: object exists", core.ErrPreconditionFailed)
	case st.ETag != opts.IfMatch:
		return fmt.Errorf("%w: object changed", core.ErrPreconditionFailed)
	}
	return nil
}

// checkedReader holds a stream to its announced size (when size >= 0) and
// remembers its own failures, so that Put reports them rather than
// whatever the HTTP client made of them.
type checkedReader struct {
	r    io.Reader
	size int64
	n    int64
	err  error
}

func (c *checkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.size >= 0 && c.n == c.size {
		return 0, c.probeEnd()
	}
	if c.size >= 0 && int64(len(p)) > c.size-c.n {
		p = p[:c.size-c.n]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	switch {
	case err == io.EOF && c.size >= 0 && c.n < c.size:
		c.err = fmt.Errorf("%w: got %d bytes, expected %d", core.ErrInvalidArgument, c.n, c.size)
		return n, c.err
	case err != nil && err != io.EOF:
		c.err = err
	case err == nil && c.size >= 0 && c.n == c.size:
		// The last announced byte: make sure no more follow, before the
		// request can complete.
		if perr := c.probeEnd(); perr != io.EOF {
			return n, perr
		}
		return n, io.EOF
	}
	return n, err
}

// probeEnd checks that the stream has nothing beyond its announced size:
// it returns io.EOF, or records and returns the error.
func (c *checkedReader) probeEnd() error {
	var one [1]byte
	for range 100 {
		n, err := c.r.Read(one[:])
		if n > 0 {
			c.err = fmt.Errorf("%w: more than the announced %d bytes", core.ErrInvalidArgument, c.size)
			return c.err
		}
		if err == io.EOF {
			return io.EOF
		}
		if err != nil {
			c.err = err
			return err
		}
	}
	c.err = fmt.Errorf("%w: reader returns no data and no EOF", core.ErrInvalidArgument)
	return c.err
}
