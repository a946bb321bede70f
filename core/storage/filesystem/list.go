package filesystem

import (
	"context"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/smartregistry/smartregistry/core"
)

// List walks the directories below prefix in key order and stops as soon as
// the page is full. With Delimiter "/" it does not descend into directories
// beyond finding out whether they hold an object at all.
func (b *Backend) List(ctx context.Context, prefix string, opts core.ListOptions) (core.ListPage, error) {
	opts, err := core.CheckListing(prefix, opts)
	if err != nil {
		return core.ListPage{}, err
	}
	w := walker{ctx: ctx, b: b, startAfter: opts.StartAfter, shallow: opts.Delimiter != ""}
	// The prefix names a directory (up to its last "/") and a name prefix
	// within it.
	dir, name := "", prefix
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		dir, name = prefix[:i+1], prefix[i+1:]
	}
	page := core.PageOf(w.objects(dir, name), prefix, opts.Delimiter, opts.StartAfter, opts.Limit)
	if w.err != nil {
		return core.ListPage{}, fmt.Errorf("list %s: %w", prefix, w.err)
	}
	return page, nil
}

// walker yields the objects of a listing; the first error ends the walk
// and is kept in err.
type walker struct {
	ctx        context.Context
	b          *Backend
	startAfter string
	// shallow yields only the first object of each subdirectory, which is
	// all a delimited listing needs to report its common prefix.
	shallow bool
	err     error
}

// entry is a directory entry with its key; a directory's key ends in "/",
// which makes sorting by key sort the whole tree in key order ("a-b" comes
// before the keys under "a/").
type entry struct {
	key   string
	isDir bool
}

// objects yields, in key order, the objects under directory dir (a key
// prefix ending in "/", or "" for the root) whose names within dir start
// with name and whose keys are greater than w.startAfter.
func (w *walker) objects(dir, name string) iter.Seq[core.ObjectInfo] {
	return func(yield func(core.ObjectInfo) bool) {
		w.walk(dir, name, yield)
	}
}

// walk yields the objects under dir whose names start with name; it
// returns false when the walk must stop (yield said so, or an error).
func (w *walker) walk(dir, name string, yield func(core.ObjectInfo) bool) bool {
	entries, ok := w.readDir(dir, name)
	if !ok {
		return false
	}
	for _, e := range entries {
		var o core.ObjectInfo
		switch {
		case e.isDir && w.shallow:
			// A common prefix: any one object below stands for it, and
			// all of them sort after startAfter, or none does.
			if w.startAfter >= e.key {
				continue
			}
			found, ok := w.first(e.key)
			if !ok {
				return false
			}
			if found == nil {
				continue
			}
			o = *found
		case e.isDir:
			if w.startAfter >= e.key && !strings.HasPrefix(w.startAfter, e.key) {
				continue // everything below sorts before startAfter
			}
			if !w.walk(e.key, "", yield) {
				return false
			}
			continue
		default:
			if e.key <= w.startAfter {
				continue
			}
			found, ok := w.stat(e.key)
			if !ok {
				return false
			}
			if found == nil {
				continue
			}
			o = *found
		}
		if !yield(o) {
			return false
		}
	}
	return true
}

// first returns the first object below dir in key order, or nil if there
// is none (directories left empty). ok is false after an error.
func (w *walker) first(dir string) (o *core.ObjectInfo, ok bool) {
	entries, ok := w.readDir(dir, "")
	if !ok {
		return nil, false
	}
	for _, e := range entries {
		if e.isDir {
			o, ok = w.first(e.key)
		} else {
			o, ok = w.stat(e.key)
		}
		if !ok || o != nil {
			return o, ok
		}
	}
	return nil, true
}

// stat describes the file at key, or returns nil if it is gone or is not a
// regular file.
func (w *walker) stat(key string) (*core.ObjectInfo, bool) {
	fi, err := os.Stat(w.b.path(key))
	switch {
	case err == nil && fi.Mode().IsRegular():
		o := objectInfo(key, fi)
		return &o, true
	case err == nil || isAbsent(err):
		return nil, true
	default:
		w.err = err
		return nil, false
	}
}

// readDir returns the regular files and directories in dir whose names
// start with name, sorted by key. A directory that vanished (pruned by a
// concurrent delete) or is a file is empty. At the root, dot-entries (the
// backend's bookkeeping) are skipped.
func (w *walker) readDir(dir, name string) ([]entry, bool) {
	if err := w.ctx.Err(); err != nil {
		w.err = err
		return nil, false
	}
	des, err := os.ReadDir(filepath.Join(w.b.root, filepath.FromSlash(dir)))
	if err != nil {
		if isAbsent(err) {
			return nil, true
		}
		w.err = err
		return nil, false
	}
	entries := make([]entry, 0, len(des))
	for _, de := range des {
		n := de.Name()
		if !strings.HasPrefix(n, name) || (dir == "" && strings.HasPrefix(n, ".")) {
			continue
		}
		switch {
		case de.IsDir():
			entries = append(entries, entry{key: dir + n + "/", isDir: true})
		case de.Type().IsRegular():
			entries = append(entries, entry{key: dir + n})
		}
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	return entries, true
}
