// Package memory is an in-memory storage backend for tests and examples.
// Everything is lost when the process ends.
package memory

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

type object struct {
	data    []byte
	etag    string
	modTime time.Time
}

// Backend keeps objects in a map. The zero value is not usable; call New.
type Backend struct {
	mu      sync.RWMutex
	objects map[string]object
}

// New returns an empty in-memory backend.
func New() *Backend {
	return &Backend{objects: map[string]object{}}
}

var (
	_ core.Backend = (*Backend)(nil)
	_ core.Copier  = (*Backend)(nil)
	_ core.Mover   = (*Backend)(nil)
)

func (o object) info(key string) core.ObjectInfo {
	return core.ObjectInfo{Key: key, Size: int64(len(o.data)), ETag: o.etag, ModTime: o.modTime}
}

// Get returns a reader over a copy-free view of the object.
func (b *Backend) Get(_ context.Context, key string, rng *core.ByteRange) (io.ReadCloser, core.ObjectInfo, error) {
	if err := core.ValidateKey(key); err != nil {
		return nil, core.ObjectInfo{}, err
	}
	b.mu.RLock()
	o, ok := b.objects[key]
	b.mu.RUnlock()
	if !ok {
		return nil, core.ObjectInfo{}, fmt.Errorf("%w: %s", core.ErrNotFound, key)
	}
	data := o.data
	if rng != nil {
		off, n, err := rng.Resolve(int64(len(data)))
		if err != nil {
			return nil, core.ObjectInfo{}, fmt.Errorf("get %s: %w", key, err)
		}
		data = data[off : off+n]
	}
	return io.NopCloser(bytes.NewReader(data)), o.info(key), nil
}

// Stat describes the object at key.
func (b *Backend) Stat(_ context.Context, key string) (core.ObjectInfo, error) {
	if err := core.ValidateKey(key); err != nil {
		return core.ObjectInfo{}, err
	}
	b.mu.RLock()
	o, ok := b.objects[key]
	b.mu.RUnlock()
	if !ok {
		return core.ObjectInfo{}, fmt.Errorf("%w: %s", core.ErrNotFound, key)
	}
	return o.info(key), nil
}

// Put reads r whole and stores it; conditions are checked under the lock.
func (b *Backend) Put(ctx context.Context, key string, r io.Reader, size int64, opts core.PutOptions) (core.ObjectInfo, error) {
	if err := core.ValidateKey(key); err != nil {
		return core.ObjectInfo{}, err
	}
	var buf bytes.Buffer
	if size > 0 {
		buf.Grow(int(size))
	}
	if _, err := io.Copy(&buf, r); err != nil {
		return core.ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return core.ObjectInfo{}, err
	}
	if size >= 0 && int64(buf.Len()) != size {
		return core.ObjectInfo{}, fmt.Errorf("%w: put %s: got %d bytes, expected %d", core.ErrInvalidArgument, key, buf.Len(), size)
	}
	sum := md5.Sum(buf.Bytes())
	o := object{data: buf.Bytes(), etag: hex.EncodeToString(sum[:]), modTime: time.Now()}
	b.mu.Lock()
	defer b.mu.Unlock()
	cur, exists := b.objects[key]
	if opts.IfAbsent && exists {
		return core.ObjectInfo{}, fmt.Errorf("%w: %s exists", core.ErrPreconditionFailed, key)
	}
	if opts.IfMatch != "" && (!exists || cur.etag != opts.IfMatch) {
		return core.ObjectInfo{}, fmt.Errorf("%w: %s changed", core.ErrPreconditionFailed, key)
	}
	b.objects[key] = o
	return o.info(key), nil
}

// Delete removes key.
func (b *Backend) Delete(_ context.Context, key string) error {
	if err := core.ValidateKey(key); err != nil {
		return err
	}
	b.mu.Lock()
	delete(b.objects, key)
	b.mu.Unlock()
	return nil
}

// Copy copies an object within the map.
func (b *Backend) Copy(_ context.Context, src, dst string) (core.ObjectInfo, error) {
	if err := core.ValidateKey(src); err != nil {
		return core.ObjectInfo{}, err
	}
	if err := core.ValidateKey(dst); err != nil {
		return core.ObjectInfo{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.objects[src]
	if !ok {
		return core.ObjectInfo{}, fmt.Errorf("%w: %s", core.ErrNotFound, src)
	}
	o.modTime = time.Now()
	b.objects[dst] = o
	return o.info(dst), nil
}

// Move renames an object within the map, under opts' condition on dst.
func (b *Backend) Move(_ context.Context, src, dst string, opts core.PutOptions) (core.ObjectInfo, error) {
	if err := core.ValidateMove(src, dst); err != nil {
		return core.ObjectInfo{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.objects[src]
	if !ok {
		return core.ObjectInfo{}, fmt.Errorf("%w: %s", core.ErrNotFound, src)
	}
	cur, exists := b.objects[dst]
	if opts.IfAbsent && exists {
		return core.ObjectInfo{}, fmt.Errorf("%w: %s exists", core.ErrPreconditionFailed, dst)
	}
	if opts.IfMatch != "" && (!exists || cur.etag != opts.IfMatch) {
		return core.ObjectInfo{}, fmt.Errorf("%w: %s changed", core.ErrPreconditionFailed, dst)
	}
	o.modTime = time.Now()
	b.objects[dst] = o
	delete(b.objects, src)
	return o.info(dst), nil
}

// List pages through the sorted keys under prefix.
func (b *Backend) List(_ context.Context, prefix string, opts core.ListOptions) (core.ListPage, error) {
	opts, err := core.CheckListing(prefix, opts)
	if err != nil {
		return core.ListPage{}, err
	}
	b.mu.RLock()
	var infos []core.ObjectInfo
	for k, o := range b.objects {
		if strings.HasPrefix(k, prefix) && k > opts.StartAfter {
			infos = append(infos, o.info(k))
		}
	}
	b.mu.RUnlock()
	slices.SortFunc(infos, func(a, b core.ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return core.PageOf(slices.Values(infos), prefix, opts.Delimiter, opts.StartAfter, opts.Limit), nil
}
