package filesystem_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/filesystem"
)

func newBackend(t *testing.T, dir string) *filesystem.Backend {
	t.Helper()
	b, err := filesystem.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func put(ctx context.Context, b core.Backend, key, data string, opts core.PutOptions) (core.ObjectInfo, error) {
	return b.Put(ctx, key, strings.NewReader(data), int64(len(data)), opts)
}

func TestKeyDirectoryConflict(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	b := newBackend(t, dir)
	if _, err := put(ctx, b, "a/b", "x", core.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key  string
		opts core.PutOptions
		want error
	}{
		{"a", core.PutOptions{}, core.ErrConflict},
		{"a", core.PutOptions{IfAbsent: true}, core.ErrConflict},
		{"a", core.PutOptions{IfMatch: "1-1-1"}, core.ErrPreconditionFailed},
		{"a/b/c", core.PutOptions{}, core.ErrConflict},
		{"a/b/c/d", core.PutOptions{IfAbsent: true}, core.ErrConflict},
	}
	for _, tt := range tests {
		_, err := put(ctx, b, tt.key, "y", tt.opts)
		if !errors.Is(err, tt.want) {
			t.Errorf("put %s %+v: %v, want %v", tt.key, tt.opts, err, tt.want)
		}
		if errors.Is(err, core.ErrConflict) && core.HTTPStatus(err) != http.StatusConflict {
			t.Errorf("put %s: status %d", tt.key, core.HTTPStatus(err))
		}
	}
	if _, err := b.Stat(ctx, "a"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("stat of a directory: %v", err)
	}
	if err := b.Delete(ctx, "a"); err != nil {
		t.Errorf("delete of a directory: %v", err)
	}
	if _, err := b.Stat(ctx, "a/b"); err != nil {
		t.Errorf("delete of the directory a removed a/b: %v", err)
	}
	if err := b.Delete(ctx, "a/b"); err != nil {
		t.Fatal(err)
	}
	// With a/b gone, its directory is pruned and a is free for an object.
	if _, err := put(ctx, b, "a", "now a file", core.PutOptions{IfAbsent: true}); err != nil {
		t.Errorf("put a after deleting a/b: %v", err)
	}
	if err := b.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if left, err := leftovers(dir); err != nil || len(left) > 0 {
		t.Errorf("left behind: %q, %v", left, err)
	}
}

func TestSegmentTooLong(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	b := newBackend(t, dir)
	key := "a/" + strings.Repeat("x", 300)
	if _, err := put(ctx, b, key, "x", core.PutOptions{}); !errors.Is(err, core.ErrInvalidArgument) {
		t.Errorf("put: %v, want ErrInvalidArgument", err)
	}
	if _, err := b.Stat(ctx, key); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("stat: %v, want ErrNotFound", err)
	}
	if err := b.Delete(ctx, key); err != nil {
		t.Errorf("delete: %v", err)
	}
	if left, err := leftovers(dir); err != nil || len(left) > 0 {
		t.Errorf("left behind: %q, %v", left, err)
	}
}

func TestOverwriteWithSameContentChangesETag(t *testing.T) {
	b := newBackend(t, t.TempDir())
	seen := map[string]bool{}
	for range 100 {
		info, err := put(t.Context(), b, "k", "same", core.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if seen[info.ETag] {
			t.Fatalf("ETag %s repeated", info.ETag)
		}
		seen[info.ETag] = true
	}
}

func TestGetWholeObjectIsFile(t *testing.T) {
	b := newBackend(t, t.TempDir())
	if _, err := put(t.Context(), b, "k", "data", core.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	rc, _, err := b.Get(t.Context(), "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, ok := rc.(*os.File); !ok {
		t.Errorf("Get returned %T, want *os.File (for sendfile)", rc)
	}
}

// TestPutRacesDeletePruning puts and deletes siblings in one directory, so
// that deletes keep pruning the directory the puts rename into.
func TestPutRacesDeletePruning(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	b := newBackend(t, dir)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				key := fmt.Sprintf("d/e/f/%d-%d", w, i)
				if _, err := put(ctx, b, key, "x", core.PutOptions{}); err != nil {
					t.Errorf("put %s: %v", key, err)
					return
				}
				if err := b.Delete(ctx, key); err != nil {
					t.Errorf("delete %s: %v", key, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if left, err := leftovers(dir); err != nil || len(left) > 0 {
		t.Errorf("left behind: %q, %v", left, err)
	}
}

// helperEnv names the directory a helper process updates the counter in.
const helperEnv = "FILESYSTEM_TEST_HELPER_DIR"

type counter struct {
	N int `json:"n"`
}

func increment(ctx context.Context, s *core.Storage, n int) error {
	for range n {
		if _, err := core.UpdateJSON(ctx, s, "counter.json", func(c *counter, _ bool) error { c.N++; return nil }); err != nil {
			return err
		}
	}
	return nil
}

// TestCrossProcessUpdates runs UpdateJSON from this process and from two
// helper processes (this test binary again) on one directory: the flock on
// the lock stripe must keep every update.
func TestCrossProcessUpdates(t *testing.T) {
	if dir := os.Getenv(helperEnv); dir != "" {
		n, _ := strconv.Atoi(os.Getenv(helperEnv + "_N"))
		if err := increment(t.Context(), core.NewStorage(newBackend(t, dir), core.StorageHooks{}), n); err != nil {
			t.Fatal(err)
		}
		return
	}
	const perWorker = 40
	dir := t.TempDir()
	var wg sync.WaitGroup
	for range 2 {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCrossProcessUpdates$")
		cmd.Env = append(os.Environ(), helperEnv+"="+dir, helperEnv+"_N="+strconv.Itoa(perWorker))
		wg.Go(func() {
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("helper: %v\n%s", err, out)
			}
		})
	}
	s := core.NewStorage(newBackend(t, dir), core.StorageHooks{})
	for range 2 {
		wg.Go(func() {
			if err := increment(t.Context(), s, perWorker); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var c counter
	if _, err := core.GetJSON(t.Context(), s, "counter.json", &c); err != nil {
		t.Fatal(err)
	}
	if c.N != 4*perWorker {
		t.Errorf("counter is %d after %d increments: updates were lost", c.N, 4*perWorker)
	}
}
