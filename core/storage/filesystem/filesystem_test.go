package filesystem_test

import (
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/filesystem"
	"github.com/smartregistry/smartregistry/core/storage/storagetest"
)

// factory gives each test a fresh directory; every Open is a new Backend on
// it, as another process would have.
func factory(tb testing.TB) storagetest.Store {
	dir := tb.TempDir()
	return storagetest.Store{
		Open: func(tb testing.TB) core.Backend {
			b, err := filesystem.New(dir)
			if err != nil {
				tb.Fatal(err)
			}
			return b
		},
		Leftovers: func() ([]string, error) { return leftovers(dir) },
	}
}

// leftovers lists everything in dir but the lock files: temporary files and
// the directories deletes should have pruned.
func leftovers(dir string) ([]string, error) {
	var left []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(dir, p)
		switch {
		case err != nil:
			return err
		case rel == ".locks":
			return fs.SkipDir
		case rel != "." && rel != ".tmp":
			left = append(left, rel)
		}
		return nil
	})
	return left, err
}

func TestConformance(t *testing.T) { storagetest.Run(t, factory) }

func TestLargeObject(t *testing.T) { storagetest.RunLargeObject(t, factory) }

func BenchmarkPutGet(b *testing.B) { storagetest.BenchmarkPutGet(b, factory) }
