package core

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// Backend is the small interface every object store implements. Keys are
// slash-separated relative paths (see [ValidateKey]). A portable key layout
// never uses a key that is also a "directory" of other keys ("a" beside
// "a/b"): the filesystem backend cannot store both and refuses the second
// with [ErrConflict]. All methods are safe
// for concurrent use, also by several processes sharing one store.
//
// Errors: a missing key is [ErrNotFound]; a failed condition of a
// conditional put is [ErrPreconditionFailed]; an invalid key or range is
// [ErrInvalidArgument] or [ErrRangeNotSatisfiable]. Anything else is an
// infrastructure error.
type Backend interface {
	// Get opens the object at key for reading. With a nil rng the whole
	// object is read. The returned info describes the whole object. The
	// caller closes the reader. A missing key fails here, not on first read.
	Get(ctx context.Context, key string, rng *ByteRange) (io.ReadCloser, ObjectInfo, error)
	// Stat returns the object's size, ETag and modification time.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// Put stores r at key. size is the number of bytes r yields, or -1 when
	// unknown; a backend must not hold an unknown-size stream whole in
	// memory. The object becomes visible only when it is complete. With
	// opts.IfAbsent or opts.IfMatch set the write is conditional and fails
	// with ErrPreconditionFailed, writing nothing, when the condition does
	// not hold at the moment the object would become visible.
	Put(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions) (ObjectInfo, error)
	// Delete removes the object at key. Deleting a missing key is not an
	// error.
	Delete(ctx context.Context, key string) error
	// List returns keys under prefix in lexicographic order, one page at a
	// time. Pass the returned NextStartAfter as opts.StartAfter to get the
	// next page; it is empty after the last page.
	List(ctx context.Context, prefix string, opts ListOptions) (ListPage, error)
}

// Copier is an optional capability: a backend that can copy an object
// without streaming it through the caller. [Storage.Copy] falls back to
// Get+Put when the backend lacks it.
type Copier interface {
	// Copy puts a copy of the object at srcKey at dstKey (replacing what
	// is there) and returns the copy's info.
	Copy(ctx context.Context, srcKey, dstKey string) (ObjectInfo, error)
}

// Mover is an optional capability: a backend that can put an object it
// already holds at another key without the bytes passing through the
// caller or being written again where it can (a rename or link on a
// filesystem, a server-side copy on S3). Publishing uses it to move a
// verified upload into place, so that each byte is written once.
//
// Move makes the object at srcKey visible at dstKey under the same
// conditions, with the same semantics, as [Backend.Put] with opts: with
// opts.IfAbsent or opts.IfMatch it fails with [ErrPreconditionFailed],
// changing nothing, when the condition does not hold at the moment dstKey
// would become visible. On success srcKey no longer exists (a crash may
// leave it behind, never dstKey half-written); on any failure dstKey is
// unchanged. A missing srcKey is [ErrNotFound]. srcKey and dstKey differ.
// opts.ContentType is applied where the backend stores one.
type Mover interface {
	// Move moves srcKey to dstKey under opts' condition, as described
	// above, and returns the info of the object at dstKey.
	Move(ctx context.Context, srcKey, dstKey string, opts PutOptions) (ObjectInfo, error)
}

// Pinger is an optional capability: a backend that can report whether it is
// reachable. The example server's /healthz uses it.
type Pinger interface {
	// Ping returns nil when the store answers.
	Ping(ctx context.Context) error
}

// ByteRange selects part of an object: Length bytes from Offset, or
// everything from Offset when Length is negative.
type ByteRange struct {
	// Offset is the first byte to read.
	Offset int64
	// Length is the number of bytes to read; negative means to the end.
	Length int64
}

// Resolve checks the range against an object of size bytes and returns the
// offset and length to read. A negative offset is [ErrInvalidArgument].
// Reading from the end of an empty object is allowed and yields nothing; any
// other offset at or past the end is [ErrRangeNotSatisfiable]. A length
// running past the end is cut short.
func (r ByteRange) Resolve(size int64) (off, n int64, err error) {
	if r.Offset < 0 {
		return 0, 0, fmt.Errorf("%w: negative range offset %d", ErrInvalidArgument, r.Offset)
	}
	if r.Offset > size || (r.Offset == size && size > 0) {
		return 0, 0, fmt.Errorf("%w: offset %d of %d bytes", ErrRangeNotSatisfiable, r.Offset, size)
	}
	n = size - r.Offset
	if r.Length >= 0 && r.Length < n {
		n = r.Length
	}
	return r.Offset, n, nil
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	// Key is the object's key.
	Key string
	// Size is its length in bytes.
	Size int64
	// ETag names this version of the object: it changes with every write.
	// Conditional puts compare it (PutOptions.IfMatch).
	ETag string
	// ModTime is when this version was written.
	ModTime time.Time
}

// PutOptions make a put conditional. The zero value is an unconditional put.
type PutOptions struct {
	// IfAbsent makes the put succeed only if no object exists at the key.
	IfAbsent bool
	// IfMatch makes the put succeed only if the object at the key still has
	// this ETag.
	IfMatch string
	// ContentType is stored where the backend supports it.
	ContentType string
}

// ListOptions page through a listing. The zero value lists everything below
// the prefix, recursively, in pages of a backend-chosen size.
type ListOptions struct {
	// StartAfter lists only keys greater than this key.
	StartAfter string
	// Limit is the largest number of entries per page (objects and common
	// prefixes together); 0 means 1000.
	Limit int
	// Delimiter, when "/", groups keys that have a further "/" after the
	// prefix into CommonPrefixes (each ending in "/") instead of listing
	// them, like a directory listing.
	Delimiter string
}

// ListPage is one page of a listing.
type ListPage struct {
	// Objects are the keys listed, in lexicographic order.
	Objects []ObjectInfo
	// CommonPrefixes are the "directories" a Delimiter grouped, each
	// ending in the delimiter.
	CommonPrefixes []string
	// NextStartAfter is set when more entries follow.
	NextStartAfter string
}

// DefaultListLimit is the page size used when ListOptions.Limit is 0.
const DefaultListLimit = 1000

// ValidateKey checks that key is a relative slash-separated path with no
// empty, "." or ".." segments, no backslashes or control characters, and
// that it does not start with "." (backends keep their own bookkeeping in
// such names). Every backend calls it.
func ValidateKey(key string) error {
	if key == "" || len(key) > 1024 {
		return fmt.Errorf("%w: storage key must be 1-1024 bytes", ErrInvalidArgument)
	}
	if key[0] == '.' {
		return fmt.Errorf("%w: storage key %q starts with a dot", ErrInvalidArgument, key)
	}
	for _, c := range []byte(key) {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return fmt.Errorf("%w: storage key %q contains a forbidden character", ErrInvalidArgument, key)
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%w: storage key %q has an empty, \".\" or \"..\" segment", ErrInvalidArgument, key)
		}
	}
	return nil
}

// ValidateMove checks the keys of a move: both valid, and not the same.
// Every [Mover] calls it.
func ValidateMove(srcKey, dstKey string) error {
	if err := ValidateKey(srcKey); err != nil {
		return err
	}
	if err := ValidateKey(dstKey); err != nil {
		return err
	}
	if srcKey == dstKey {
		return fmt.Errorf("%w: move %s onto itself", ErrInvalidArgument, srcKey)
	}
	return nil
}

// ValidatePrefix checks a listing prefix: empty, or a key-like string that
// may end in "/".
func ValidatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	return ValidateKey(strings.TrimSuffix(prefix, "/"))
}
