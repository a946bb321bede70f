// Package rangeread reads a stored object at offsets through ranged Gets,
// so that a zip archive in storage can be opened without holding it in
// memory or on local disk.
package rangeread

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/smartregistry/smartregistry/core"
)

// readAhead is how much a ReaderAt fetches at least per ranged Get: the
// zip reader reads its central directory in small pieces.
const readAhead = 256 << 10

// ReaderAt reads the object at one key. It keeps the last block fetched;
// its memory is bounded by max(256 KiB, the largest single read), and by
// the object's size when that is known. It is not safe for concurrent use,
// which archive/zip does not need.
type ReaderAt struct {
	ctx     context.Context
	storage *core.Storage
	key     string
	size    int64 // -1 when unknown
	off     int64
	buf     []byte
	err     error
}

// New returns a ReaderAt of the object at key, of the given size (-1 when
// unknown: blocks are then read ahead in full).
func New(ctx context.Context, s *core.Storage, key string, size int64) *ReaderAt {
	return &ReaderAt{ctx: ctx, storage: s, key: key, size: size}
}

// Err returns the first error reading storage, so that a caller that gets
// it wrapped into another can tell a failed read from a bad file.
func (r *ReaderAt) Err() error { return r.err }

// ReadAt implements io.ReaderAt.
func (r *ReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%w: negative offset", core.ErrInvalidArgument)
	}
	if off < r.off || off+int64(len(p)) > r.off+int64(len(r.buf)) {
		if err := r.fill(off, max(int64(len(p)), readAhead)); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.buf[off-r.off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// fill fetches up to n bytes from off; fewer at the end of the object.
func (r *ReaderAt) fill(off, n int64) error {
	if r.size >= 0 {
		if off >= r.size {
			r.off, r.buf = off, nil
			return nil
		}
		n = min(n, r.size-off)
	}
	rc, _, err := r.storage.Get(r.ctx, r.key, &core.ByteRange{Offset: off, Length: n})
	if errors.Is(err, core.ErrRangeNotSatisfiable) { // at or past the end
		r.off, r.buf = off, nil
		return nil
	}
	if err != nil {
		return r.fail(fmt.Errorf("read %s at %d: %w", r.key, off, err))
	}
	defer rc.Close()
	buf := make([]byte, n)
	got, err := io.ReadFull(rc, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return r.fail(fmt.Errorf("read %s at %d: %w", r.key, off, err))
	}
	r.off, r.buf = off, buf[:got]
	return nil
}

func (r *ReaderAt) fail(err error) error {
	if r.err == nil {
		r.err = err
	}
	return err
}
