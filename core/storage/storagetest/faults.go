package storagetest

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/smartregistry/smartregistry/core"
)

// ErrBrokenRead is what reads from a [FailingReads] backend fail with.
var ErrBrokenRead = errors.New("connection reset by the store")

// FailingReads wraps a backend so that reads of objects under Prefix break
// after their first 16 bytes with [ErrBrokenRead], as a store's connection
// may. Protocol tests use it to check that a storage failure is reported as
// an internal error, not as the client's bad input.
type FailingReads struct {
	core.Backend
	// Prefix selects the keys whose reads break.
	Prefix string
}

// Get opens the object; under Prefix its reader fails after 16 bytes.
func (f *FailingReads) Get(ctx context.Context, key string, rng *core.ByteRange) (io.ReadCloser, core.ObjectInfo, error) {
	rc, info, err := f.Backend.Get(ctx, key, rng)
	if err != nil || !strings.HasPrefix(key, f.Prefix) {
		return rc, info, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.MultiReader(io.LimitReader(rc, 16), iotest.ErrReader(ErrBrokenRead)), rc}, info, nil
}

// Keys lists every key in s, sorted, failing t on error. Protocol tests
// compare it before and after a refused request to show nothing was
// stored.
func Keys(ctx context.Context, t testing.TB, s *core.Storage) []string {
	t.Helper()
	var keys []string
	if err := s.Walk(ctx, "", func(o core.ObjectInfo) error {
		keys = append(keys, o.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}

// ErrLostAnswer is what a [LostAnswers] backend reports for a write that
// took place.
var ErrLostAnswer = errors.New("the store's answer was lost")

// LostAnswers wraps a backend so that puts and moves onto keys Lose
// selects take place but report [ErrLostAnswer], as an S3 request whose
// response never arrived. Protocol tests use it to show that such a write
// leaves a consistent state.
type LostAnswers struct {
	core.Backend
	// Lose selects the keys whose writes lose their answer.
	Lose func(key string) bool
}

// Put stores the object, then loses the answer when Lose says so.
func (l *LostAnswers) Put(ctx context.Context, key string, r io.Reader, size int64, opts core.PutOptions) (core.ObjectInfo, error) {
	info, err := l.Backend.Put(ctx, key, r, size, opts)
	if err == nil && l.Lose(key) {
		return core.ObjectInfo{}, ErrLostAnswer
	}
	return info, err
}

// Move moves the object (through the wrapped backend's Move where it has
// one), then loses the answer when Lose says so.
func (l *LostAnswers) Move(ctx context.Context, src, dst string, opts core.PutOptions) (core.ObjectInfo, error) {
	info, err := core.NewStorage(l.Backend, core.StorageHooks{}).Move(ctx, src, dst, opts)
	if err == nil && l.Lose(dst) {
		return core.ObjectInfo{}, ErrLostAnswer
	}
	return info, err
}

// Counting wraps a backend and counts its calls by method: against a
// remote store each is one round trip. It forwards Move and Copy to the
// wrapped backend when it has them.
type Counting struct {
	core.Backend
	mu    sync.Mutex
	calls map[string]int
}

// NewCounting wraps b.
func NewCounting(b core.Backend) *Counting { return &Counting{Backend: b, calls: map[string]int{}} }

func (c *Counting) count(method string) {
	c.mu.Lock()
	c.calls[method]++
	c.mu.Unlock()
}

// Calls returns the counts so far, by method, and resets them.
func (c *Counting) Calls() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = map[string]int{}
	return out
}

// Get counts and forwards.
func (c *Counting) Get(ctx context.Context, key string, rng *core.ByteRange) (io.ReadCloser, core.ObjectInfo, error) {
	c.count("get")
	return c.Backend.Get(ctx, key, rng)
}

// Stat counts and forwards.
func (c *Counting) Stat(ctx context.Context, key string) (core.ObjectInfo, error) {
	c.count("stat")
	return c.Backend.Stat(ctx, key)
}

// Put counts and forwards.
func (c *Counting) Put(ctx context.Context, key string, r io.Reader, size int64, opts core.PutOptions) (core.ObjectInfo, error) {
	c.count("put")
	return c.Backend.Put(ctx, key, r, size, opts)
}

// Delete counts and forwards.
func (c *Counting) Delete(ctx context.Context, key string) error {
	c.count("delete")
	return c.Backend.Delete(ctx, key)
}

// List counts and forwards.
func (c *Counting) List(ctx context.Context, prefix string, opts core.ListOptions) (core.ListPage, error) {
	c.count("list")
	return c.Backend.List(ctx, prefix, opts)
}

// Move counts and forwards (a server-side move is one round trip, or two
// with the delete of the source on S3; it counts as one here).
func (c *Counting) Move(ctx context.Context, src, dst string, opts core.PutOptions) (core.ObjectInfo, error) {
	c.count("move")
	return core.NewStorage(c.Backend, core.StorageHooks{}).Move(ctx, src, dst, opts)
}

// Copy counts and forwards.
func (c *Counting) Copy(ctx context.Context, src, dst string) (core.ObjectInfo, error) {
	c.count("copy")
	return core.NewStorage(c.Backend, core.StorageHooks{}).Copy(ctx, src, dst)
}
