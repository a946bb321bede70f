package filesystem

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

// maxRenameAttempts bounds the retries of a rename whose directory a
// concurrent delete keeps pruning.
const maxRenameAttempts = 100

// Put streams r into a temporary file, then, holding the key's lock, checks
// the condition and renames the file into place. See the package doc for
// durability and ETags.
func (b *Backend) Put(ctx context.Context, key string, r io.Reader, size int64, opts core.PutOptions) (core.ObjectInfo, error) {
	if err := core.ValidateKey(key); err != nil {
		return core.ObjectInfo{}, err
	}
	tmp, err := b.writeTemp(ctx, r, size)
	if err != nil {
		return core.ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
	}
	info, err := b.commit(ctx, key, tmp, opts)
	if err != nil {
		os.Remove(tmp)
		return core.ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
	}
	return info, nil
}

// writeTemp copies r into a new fsynced temporary file and returns its path.
// With size >= 0, r must yield exactly size bytes.
func (b *Backend) writeTemp(ctx context.Context, r io.Reader, size int64) (string, error) {
	f, err := b.createTemp()
	if err != nil {
		return "", err
	}
	name := f.Name()
	fail := func(err error) (string, error) {
		f.Close()
		os.Remove(name)
		return "", err
	}
	// An *os.File source (Copy) is passed as is, so that the kernel can copy
	// the data; any other reader is checked for cancellation between reads.
	src := r
	if _, ok := r.(*os.File); !ok {
		src = ctxReader{ctx, r}
	}
	if size >= 0 {
		src = io.LimitReader(src, size+1)
	}
	n, err := io.Copy(&writeback{f: f}, src)
	if err != nil {
		return fail(err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if size >= 0 && n != size {
		if n > size {
			return fail(fmt.Errorf("%w: more than the announced %d bytes", core.ErrInvalidArgument, size))
		}
		return fail(fmt.Errorf("%w: got %d bytes, expected %d", core.ErrInvalidArgument, n, size))
	}
	if err := syscall.Fdatasync(int(f.Fd())); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		return "", err
	}
	return name, nil
}

// writebackChunk is how much a put writes before it asks the kernel to
// start writing it to disk.
const writebackChunk = 8 << 20

// writeback writes to a file and, every writebackChunk bytes, starts the
// kernel's writeback of what it wrote (sync_file_range with
// SYNC_FILE_RANGE_WRITE, which does not wait), so that the disk writes
// while the rest of the stream arrives and the fdatasync at the end of a
// large put has little left to wait for. Without it the whole object would
// sit dirty in the page cache until that fdatasync.
type writeback struct {
	f       *os.File
	off     int64 // bytes written
	flushed int64 // start of the range not yet handed to writeback
}

func (w *writeback) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.flushed >= writebackChunk {
		// Best effort: a filesystem without it just syncs at the end.
		_ = syscall.SyncFileRange(int(w.f.Fd()), w.flushed, w.off-w.flushed, syncFileRangeWrite)
		w.flushed = w.off
	}
	return n, err
}

// copyBuffers recycles the buffers puts copy through.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, copyBufferSize); return &b }}

// copyBufferSize is how much a put gathers before it writes: a request
// body arrives in pieces of a few KiB, written in MiB-sized writes.
const copyBufferSize = 1 << 20

// ReadFrom copies r to the file in writes of up to copyBufferSize bytes
// (a file is left to the kernel to copy).
func (w *writeback) ReadFrom(r io.Reader) (int64, error) {
	if f, ok := r.(*os.File); ok {
		n, err := w.f.ReadFrom(f)
		w.off += n
		return n, err
	}
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	var total int64
	for {
		n, err := io.ReadFull(r, *bp)
		if n > 0 {
			if _, werr := w.Write((*bp)[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return total, nil
		case err != nil:
			return total, err
		}
	}
}

// syncFileRangeWrite is SYNC_FILE_RANGE_WRITE: start writeback of the
// range's dirty pages, without waiting.
const syncFileRangeWrite = 0x2

// createTemp creates a uniquely named file in the temporary directory with
// the usual permissions (0644 less the umask), recreating the directory if
// someone removed it.
func (b *Backend) createTemp() (*os.File, error) {
	var buf [12]byte
	rand.Read(buf[:])
	name := filepath.Join(b.tmp, fmt.Sprintf("put-%x", buf))
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(b.tmp, 0o755); err != nil {
			return nil, err
		}
		f, err = os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	}
	return f, err
}

// commit moves the complete temporary file tmp to key under the key's lock,
// if opts' condition holds.
func (b *Backend) commit(ctx context.Context, key, tmp string, opts core.PutOptions) (core.ObjectInfo, error) {
	unlock, err := b.locks.lock(ctx, key)
	if err != nil {
		return core.ObjectInfo{}, err
	}
	defer unlock()
	final := b.path(key)
	cur, err := os.Lstat(final)
	exists := err == nil
	switch {
	case exists && !cur.Mode().IsRegular():
		if opts.IfMatch != "" {
			return core.ObjectInfo{}, fmt.Errorf("%w: no object", core.ErrPreconditionFailed)
		}
		return core.ObjectInfo{}, keyConflict(key)
	case errors.Is(err, syscall.ENAMETOOLONG):
		return core.ObjectInfo{}, segmentTooLong(key)
	case err != nil && !isAbsent(err):
		return core.ObjectInfo{}, err
	case opts.IfAbsent && exists:
		return core.ObjectInfo{}, fmt.Errorf("%w: object exists", core.ErrPreconditionFailed)
	case opts.IfMatch != "" && !exists:
		return core.ObjectInfo{}, fmt.Errorf("%w: no object", core.ErrPreconditionFailed)
	case opts.IfMatch != "" && objectInfo(key, cur).ETag != opts.IfMatch:
		return core.ObjectInfo{}, fmt.Errorf("%w: object changed", core.ErrPreconditionFailed)
	}
	var prev time.Time
	if exists {
		prev = cur.ModTime()
	}
	fi, err := stampAfter(tmp, prev)
	if err != nil {
		return core.ObjectInfo{}, err
	}
	if err := b.rename(tmp, final); err != nil {
		b.pruneDirs(filepath.Dir(final)) // those the failed rename made
		if errors.Is(err, syscall.ENAMETOOLONG) {
			return core.ObjectInfo{}, segmentTooLong(key)
		}
		if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) ||
			errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) {
			return core.ObjectInfo{}, keyConflict(key)
		}
		return core.ObjectInfo{}, err
	}
	if err := syncDir(filepath.Dir(final)); err != nil {
		return core.ObjectInfo{}, err
	}
	return objectInfo(key, fi), nil
}

// stampAfter sets tmp's modification time to now, or just after prev if now
// is not later (clock steps, coarse timestamps), so that the new version's
// ETag differs from the one it replaces. It returns tmp's file info.
func stampAfter(tmp string, prev time.Time) (fs.FileInfo, error) {
	mt := time.Now()
	for _, step := range []time.Duration{time.Nanosecond, time.Microsecond, time.Millisecond, time.Second} {
		if !mt.After(prev) {
			mt = prev.Add(step)
		}
		if err := os.Chtimes(tmp, mt, mt); err != nil {
			return nil, err
		}
		fi, err := os.Stat(tmp)
		if err != nil || fi.ModTime().After(prev) {
			return fi, err
		}
		// The filesystem stores coarser times than step: try a larger one.
		mt = prev
	}
	return nil, fmt.Errorf("cannot give %s a modification time after %v", tmp, prev)
}

// rename moves tmp to final, creating final's directory, again if a
// concurrent delete pruned it between our MkdirAll and rename.
func (b *Backend) rename(tmp, final string) error {
	var err error
	for range maxRenameAttempts {
		if err = os.Rename(tmp, final); err == nil || !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if _, serr := os.Lstat(tmp); serr != nil {
			return fmt.Errorf("temporary file vanished: %w", serr)
		}
		// MkdirAll itself fails with ENOENT when a delete prunes a
		// directory it has just made, and with EEXIST when another put made
		// it and a delete pruned it before MkdirAll looked again: try again.
		if err = os.MkdirAll(filepath.Dir(final), 0o755); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	return err
}

// syncDir fsyncs a directory so that a rename into it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func segmentTooLong(key string) error {
	return fmt.Errorf("%w: key %q has a segment too long for the filesystem", core.ErrInvalidArgument, key)
}

func keyConflict(key string) error {
	return fmt.Errorf("%w: key %q collides with another key: on the filesystem backend a key cannot also be a directory of other keys", core.ErrConflict, key)
}

// ctxReader fails reads once ctx is done, so a cancelled request stops a
// long upload.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
