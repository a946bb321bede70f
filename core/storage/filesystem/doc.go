// Package filesystem is the storage backend that keeps objects as files
// under a root directory. It is the embedded default of the example server.
//
// # Layout
//
//	<root>/
//	├── .tmp/              uploads in progress; renamed into place when complete
//	│   └── put-<random>
//	├── .locks/            lock files for conditional writes, striped by key hash
//	│   └── 00 … ff
//	└── <key>              one regular file per object: key "a/b/c" is <root>/a/b/c
//
// Keys never start with "." ([core.ValidateKey]), so the bookkeeping names at
// the root cannot collide with objects.
//
// # Limits
//
// As in the CNCF distribution filesystem driver, a key cannot also be a
// directory of other keys: while "a/b" exists, a put of "a" fails with
// [core.ErrConflict], and while "a" exists, a put of "a/b" fails with
// [core.ErrConflict] too. A Get or Stat of "a" while only "a/b" exists is
// [core.ErrNotFound]. The backend needs a Unix system (it uses flock(2)).
//
// # Writes
//
// A put streams into a temporary file in <root>/.tmp (the same filesystem
// as the objects), fsyncs it, and renames it into place, so a reader sees
// either the old object or the complete new one, never a partial one. After
// the rename the parent directory is fsynced as well, so an acknowledged put
// survives a crash. Every write (conditional or not), delete and copy takes
// an exclusive flock(2) on the key's lock stripe in <root>/.locks around the
// check-and-rename step only, never while the data streams; conditions are
// therefore honoured across goroutines and across processes sharing the
// directory (on a local filesystem; flock over NFS is not reliable).
//
// # ETags
//
// An object's ETag is "<inode>-<size>-<mtime in ns>" in hex: it costs a stat,
// not a hash of the content. The backend sets each new version's
// modification time itself, to the current time but always at least a
// nanosecond after the version it replaces, so the ETag changes on every
// write even when the inode number is reused.
//
// # Deletes and listing
//
// A delete removes the file and then the parent directories it left empty;
// a concurrent put into such a directory recreates it and retries. A listing
// walks the directories in key order and stops as soon as a page is full, so
// a page costs reading the directories on the way to it, not the whole tree.
// Temporary files older than a day, left by crashed processes, are removed
// when a Backend is created.
package filesystem
