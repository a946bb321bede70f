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
	"syscall"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

const (
	tmpDirName  = ".tmp"
	lockDirName = ".locks"
	// staleTemp is the age after which New removes a temporary file.
	staleTemp = 24 * time.Hour
)

// Backend stores objects as files below a root directory. Several Backends,
// also in several processes, may share one root.
type Backend struct {
	root  string
	tmp   string
	locks *stripes
}

var (
	_ core.Backend = (*Backend)(nil)
	_ core.Copier  = (*Backend)(nil)
	_ core.Pinger  = (*Backend)(nil)
	_ core.Mover   = (*Backend)(nil)
)

// New returns a backend rooted at dir, creating it if needed, and removes
// temporary files left over from crashed processes.
func New(dir string) (*Backend, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("filesystem: root %q: %w", dir, err)
	}
	b := &Backend{root: root, tmp: filepath.Join(root, tmpDirName)}
	for _, d := range []string{root, b.tmp, filepath.Join(root, lockDirName)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("filesystem: %w", err)
		}
	}
	b.locks = newStripes(filepath.Join(root, lockDirName))
	b.removeStaleTemps()
	return b, nil
}

// Root returns the absolute root directory.
func (b *Backend) Root() string { return b.root }

func (b *Backend) path(key string) string {
	return filepath.Join(b.root, filepath.FromSlash(key))
}

// Get opens the object. A whole-object read returns the *os.File itself, so
// copying it to a socket can use sendfile(2); a range returns a section of
// it. The file stays readable even if the object is replaced or deleted
// meanwhile.
func (b *Backend) Get(_ context.Context, key string, rng *core.ByteRange) (io.ReadCloser, core.ObjectInfo, error) {
	if err := core.ValidateKey(key); err != nil {
		return nil, core.ObjectInfo{}, err
	}
	f, err := os.Open(b.path(key))
	if err != nil {
		return nil, core.ObjectInfo{}, notFound(key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, core.ObjectInfo{}, fmt.Errorf("get %s: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, core.ObjectInfo{}, fmt.Errorf("%w: %s", core.ErrNotFound, key)
	}
	info := objectInfo(key, fi)
	if rng == nil {
		return f, info, nil
	}
	off, n, err := rng.Resolve(info.Size)
	if err != nil {
		f.Close()
		return nil, core.ObjectInfo{}, fmt.Errorf("get %s: %w", key, err)
	}
	return sectionReadCloser{io.NewSectionReader(f, off, n), f}, info, nil
}

type sectionReadCloser struct {
	*io.SectionReader
	io.Closer
}

// Stat describes the object at key.
func (b *Backend) Stat(_ context.Context, key string) (core.ObjectInfo, error) {
	if err := core.ValidateKey(key); err != nil {
		return core.ObjectInfo{}, err
	}
	fi, err := os.Stat(b.path(key))
	if err != nil {
		return core.ObjectInfo{}, notFound(key, err)
	}
	if !fi.Mode().IsRegular() {
		return core.ObjectInfo{}, fmt.Errorf("%w: %s", core.ErrNotFound, key)
	}
	return objectInfo(key, fi), nil
}

// Delete removes the object and the parent directories it leaves empty.
func (b *Backend) Delete(ctx context.Context, key string) error {
	if err := core.ValidateKey(key); err != nil {
		return err
	}
	unlock, err := b.locks.lock(ctx, key)
	if err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	defer unlock()
	p := b.path(key)
	// unlink(2), unlike os.Remove, never removes a directory: a key that is
	// only a directory of other keys is simply not there.
	if err := syscall.Unlink(p); err != nil {
		if isAbsent(err) || errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.EPERM) && isDir(p) {
			return nil
		}
		return fmt.Errorf("delete %s: %w", key, err)
	}
	b.pruneDirs(filepath.Dir(p))
	return nil
}

// pruneDirs removes dir and its parents up to the root while they are
// empty. A put racing with it finds its directory gone and recreates it.
func (b *Backend) pruneDirs(dir string) {
	for dir != b.root && len(dir) > len(b.root) {
		if err := syscall.Rmdir(dir); err != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

// Copy copies srcKey to dstKey through a temporary file (the kernel copies
// the data, with copy_file_range(2) where it can) and renames it into place
// like a put. The copy gets its own ETag.
func (b *Backend) Copy(ctx context.Context, srcKey, dstKey string) (core.ObjectInfo, error) {
	if err := core.ValidateKey(dstKey); err != nil {
		return core.ObjectInfo{}, err
	}
	rc, info, err := b.Get(ctx, srcKey, nil)
	if err != nil {
		return core.ObjectInfo{}, err
	}
	defer rc.Close()
	return b.Put(ctx, dstKey, rc, info.Size, core.PutOptions{})
}

// Move links srcKey's file to a temporary name (no data is copied), puts
// that at dstKey like the last step of a put (under dstKey's lock, checking
// opts' condition), then deletes srcKey. The moved object keeps its inode
// and gets a new modification time, hence a new ETag.
func (b *Backend) Move(ctx context.Context, srcKey, dstKey string, opts core.PutOptions) (core.ObjectInfo, error) {
	if err := core.ValidateMove(srcKey, dstKey); err != nil {
		return core.ObjectInfo{}, err
	}
	tmp, err := b.linkTemp(srcKey)
	if err != nil {
		return core.ObjectInfo{}, fmt.Errorf("move %s: %w", srcKey, err)
	}
	info, err := b.commit(ctx, dstKey, tmp, opts)
	if err != nil {
		os.Remove(tmp)
		return core.ObjectInfo{}, fmt.Errorf("move %s to %s: %w", srcKey, dstKey, err)
	}
	// dstKey is in place: a failure to remove srcKey leaves it behind, as
	// a crash would, and does not undo the move.
	_ = b.Delete(context.WithoutCancel(ctx), srcKey)
	return info, nil
}

// linkTemp makes a hard link to key's file under a new temporary name.
func (b *Backend) linkTemp(key string) (string, error) {
	src := b.path(key)
	fi, err := os.Lstat(src)
	if err != nil {
		return "", notFound(key, err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%w: %s", core.ErrNotFound, key)
	}
	var buf [12]byte
	rand.Read(buf[:])
	tmp := filepath.Join(b.tmp, fmt.Sprintf("move-%x", buf))
	err = os.Link(src, tmp)
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Lstat(src); serr != nil {
			return "", notFound(key, serr)
		}
		if err = os.MkdirAll(b.tmp, 0o755); err == nil {
			err = os.Link(src, tmp)
		}
	}
	if err != nil {
		return "", notFound(key, err)
	}
	return tmp, nil
}

// Ping checks that the root is a directory the backend can write to.
func (b *Backend) Ping(_ context.Context) error {
	f, err := os.CreateTemp(b.tmp, "ping-*")
	if err != nil {
		return fmt.Errorf("filesystem: root not writable: %w", err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// removeStaleTemps deletes temporary files older than staleTemp; younger
// ones may belong to uploads in progress in other processes.
func (b *Backend) removeStaleTemps() {
	entries, err := os.ReadDir(b.tmp)
	if err != nil {
		return
	}
	cutoff := time.Now().Add(-staleTemp)
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.ModTime().Before(cutoff) {
			os.Remove(filepath.Join(b.tmp, e.Name()))
		}
	}
}

// objectInfo describes a regular file as an object; see the package doc for
// the ETag.
func objectInfo(key string, fi fs.FileInfo) core.ObjectInfo {
	var ino uint64
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		ino = uint64(st.Ino)
	}
	mt := fi.ModTime()
	return core.ObjectInfo{
		Key:     key,
		Size:    fi.Size(),
		ETag:    fmt.Sprintf("%x-%x-%x", ino, fi.Size(), mt.UnixNano()),
		ModTime: mt,
	}
}

// notFound maps a missing file, or a missing directory on its path, to
// core.ErrNotFound.
func notFound(key string, err error) error {
	if isAbsent(err) {
		return fmt.Errorf("%w: %s", core.ErrNotFound, key)
	}
	return fmt.Errorf("%s: %w", key, err)
}

// isAbsent reports whether err says a path does not exist: the file is
// missing, a component of its path is a file, not a directory, or a
// component is too long to exist.
func isAbsent(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ENAMETOOLONG)
}

func isDir(p string) bool {
	fi, err := os.Lstat(p)
	return err == nil && fi.IsDir()
}
