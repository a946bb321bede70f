package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/minio/minio-go/v7"

	"github.com/smartregistry/smartregistry/core"
)

// Move copies srcKey to dstKey server-side, so no byte passes through this
// process, then deletes srcKey. With a condition the copy is a multipart
// upload whose parts are copied from the source (UploadPartCopy, up to
// 5 GiB each) and whose completion carries the condition, so the check and
// the write are one atomic step, as for [Backend.Put]. The source is
// pinned to the ETag a stat saw.
func (b *Backend) Move(ctx context.Context, srcKey, dstKey string, opts core.PutOptions) (core.ObjectInfo, error) {
	if err := core.ValidateMove(srcKey, dstKey); err != nil {
		return core.ObjectInfo{}, err
	}
	src, err := b.Stat(ctx, srcKey)
	if err != nil {
		return core.ObjectInfo{}, err
	}
	var info core.ObjectInfo
	if !opts.IfAbsent && opts.IfMatch == "" {
		info, err = b.Copy(ctx, srcKey, dstKey)
	} else {
		info, err = b.copyConditional(ctx, src, dstKey, opts)
	}
	if err != nil {
		return core.ObjectInfo{}, err
	}
	// dstKey is in place: a failure to remove srcKey leaves it behind, as
	// a crash would, and does not undo the move.
	_ = b.Delete(context.WithoutCancel(ctx), srcKey)
	return info, nil
}

// copyConditional copies src to dstKey through a multipart upload of
// copied parts, completed under opts' condition.
func (b *Backend) copyConditional(ctx context.Context, src core.ObjectInfo, dstKey string, opts core.PutOptions) (info core.ObjectInfo, err error) {
	if err := b.checkCondition(ctx, dstKey, opts); err != nil {
		return core.ObjectInfo{}, err
	}
	if src.Size == 0 {
		return b.Put(ctx, dstKey, bytes.NewReader(nil), 0, opts)
	}
	name := b.name(dstKey)
	id, err := b.core.NewMultipartUpload(ctx, b.bucket, name, minio.PutObjectOptions{ContentType: opts.ContentType})
	if err != nil {
		return core.ObjectInfo{}, mapError("move", dstKey, err)
	}
	defer func() {
		if err != nil {
			b.core.AbortMultipartUpload(context.WithoutCancel(ctx), b.bucket, name, id)
		}
	}()
	srcMeta := map[string]string{"x-amz-copy-source-if-match": src.ETag}
	var parts []minio.CompletePart
	for off, num := int64(0), 1; off < src.Size; off, num = off+maxSinglePut, num+1 {
		n := min(maxSinglePut, src.Size-off)
		part, err := b.core.CopyObjectPart(ctx, b.bucket, b.name(src.Key), b.bucket, name, id, num, off, n, srcMeta)
		if err != nil {
			return core.ObjectInfo{}, mapError("move", src.Key+" to "+dstKey, err)
		}
		parts = append(parts, part)
	}
	up, err := b.core.CompleteMultipartUpload(ctx, b.bucket, name, id, parts, putOptions(opts))
	if err != nil {
		err = mapError("move", dstKey, err)
		if opts.IfMatch != "" && errors.Is(err, core.ErrNotFound) {
			return core.ObjectInfo{}, fmt.Errorf("%w: %w", core.ErrPreconditionFailed, err)
		}
		return core.ObjectInfo{}, err
	}
	return core.ObjectInfo{Key: dstKey, Size: src.Size, ETag: up.ETag, ModTime: up.LastModified}, nil
}
