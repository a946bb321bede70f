package storagetest

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
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
