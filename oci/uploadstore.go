package oci

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/google/uuid"
	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/internal/counting"
)

// uploadSession is the state of one blob upload, kept in storage at
// sessionKey so that any instance can continue the upload.
type uploadSession struct {
	Repo string `json:"repo"`
	// Size is the number of bytes received so far.
	Size int64 `json:"size"`
	// Chunks are the chunk object names, in order.
	Chunks []string `json:"chunks,omitempty"`
	// SHA256 and SHA512 are the marshalled hash states after Size bytes.
	// SHA512 is kept only when HashSHA512 is set (the client announced a
	// sha512 digest when it started the upload): sha512 is slow and rare,
	// so an unannounced sha512 upload is verified by reading it once more.
	SHA256     []byte    `json:"sha256,omitempty"`
	SHA512     []byte    `json:"sha512,omitempty"`
	HashSHA512 bool      `json:"hashSha512,omitempty"`
	StartedAt  time.Time `json:"startedAt"`
}

// runningHash hashes an upload with sha256 (and sha512 when the session
// asks for it), resumable from the states saved in its session.
type runningHash struct {
	s256, s512 hash.Hash
}

func restoreHash(s *uploadSession) (*runningHash, error) {
	rh := &runningHash{s256: sha256.New()}
	if s.HashSHA512 {
		rh.s512 = sha512.New()
	}
	for _, st := range []struct {
		h     hash.Hash
		state []byte
	}{{rh.s256, s.SHA256}, {rh.s512, s.SHA512}} {
		if st.h == nil || len(st.state) == 0 {
			continue
		}
		if err := st.h.(encoding.BinaryUnmarshaler).UnmarshalBinary(st.state); err != nil {
			return nil, fmt.Errorf("restore upload hash state: %w", err)
		}
	}
	return rh, nil
}

func (rh *runningHash) Write(p []byte) (int, error) {
	rh.s256.Write(p)
	if rh.s512 != nil {
		rh.s512.Write(p)
	}
	return len(p), nil
}

// states returns the marshalled sha256 and sha512 states.
func (rh *runningHash) states() ([]byte, []byte, error) {
	a, err := rh.s256.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return nil, nil, fmt.Errorf("save upload hash state: %w", err)
	}
	if rh.s512 == nil {
		return a, nil, nil
	}
	b, err := rh.s512.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return nil, nil, fmt.Errorf("save upload hash state: %w", err)
	}
	return a, b, nil
}

// sum returns the digest of the bytes hashed so far with alg; ok is false
// when alg is not being hashed.
func (rh *runningHash) sum(alg string) (string, bool) {
	h := rh.s256
	if alg == "sha512" {
		h = rh.s512
	}
	if h == nil {
		return "", false
	}
	return hex.EncodeToString(h.Sum(nil)), true
}

// verifyUpload reports whether upload id has digest d: from the running
// hash state when it covers d's algorithm, otherwise by reading the
// chunks back through a fresh hash.
func (h *Handler) verifyUpload(ctx context.Context, id string, s *uploadSession, d Digest) (bool, error) {
	rh, err := restoreHash(s)
	if err != nil {
		return false, err
	}
	if got, ok := rh.sum(d.Algorithm); ok {
		return got == d.Hex, nil
	}
	hh := sha512.New()
	cr := h.chunks(ctx, id, s)
	defer cr.Close()
	if _, err := io.Copy(hh, cr); err != nil {
		return false, fmt.Errorf("read upload %s back: %w", id, err)
	}
	return hex.EncodeToString(hh.Sum(nil)) == d.Hex, nil
}

// chunks reads the chunks of an upload in order.
func (h *Handler) chunks(ctx context.Context, id string, s *uploadSession) *chunkReader {
	keys := make([]string, len(s.Chunks))
	for i, c := range s.Chunks {
		keys[i] = chunkKey(id, c)
	}
	return &chunkReader{ctx: ctx, st: h.deps.Storage, keys: keys}
}

// newUpload creates the session of a new upload into repository name;
// sha512 makes it keep a running sha512 too.
func (h *Handler) newUpload(ctx context.Context, name string, sha512 bool) (string, *uploadSession, error) {
	id := uuid.NewString()
	s := &uploadSession{Repo: name, StartedAt: time.Now().UTC(), HashSHA512: sha512}
	if _, err := core.PutJSON(core.WithObject(ctx, core.ObjectRef{Kind: core.KindInternal, Package: name}), h.deps.Storage, sessionKey(id), s, core.PutOptions{IfAbsent: true}); err != nil {
		return "", nil, fmt.Errorf("create upload: %w", err)
	}
	return id, s, nil
}

// loadUpload reads the session of upload id, which must belong to
// repository name.
func (h *Handler) loadUpload(ctx context.Context, name, id string) (*uploadSession, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, fmt.Errorf("%w: %q", ErrBlobUploadUnknown, id)
	}
	var s uploadSession
	if _, err := core.GetJSON(ctx, h.deps.Storage, sessionKey(id), &s); err != nil {
		if errors.Is(err, core.ErrNotFound) {
			return nil, fmt.Errorf("%w: %s", ErrBlobUploadUnknown, id)
		}
		return nil, err
	}
	if s.Repo != name {
		return nil, fmt.Errorf("%w: %s", ErrBlobUploadUnknown, id)
	}
	return &s, nil
}

// appendChunk streams body (length bytes, or -1 when unknown) into a new
// chunk object at the end of upload id, hashing it on the way, and records
// it in the session. The session must still end at s.Size when the chunk
// is complete; otherwise another writer won and the chunk is dropped with
// ErrRangeInvalid. It returns the updated session.
func (h *Handler) appendChunk(ctx context.Context, id string, s *uploadSession, body io.Reader, length int64) (*uploadSession, error) {
	offset := s.Size
	rh, err := restoreHash(s)
	if err != nil {
		return nil, err
	}
	name := chunkName(offset, uuid.NewString()[:8])
	key := chunkKey(id, name)
	counted := &counting.Reader{R: io.TeeReader(body, rh)}
	if _, err := h.deps.Storage.Put(core.WithObject(ctx, core.ObjectRef{Kind: core.KindTemporary, Package: s.Repo}), key, counted, length, core.PutOptions{}); err != nil {
		h.dropChunk(ctx, key)
		if errors.Is(err, core.ErrInvalidArgument) {
			return nil, fmt.Errorf("%w: %v", ErrSizeInvalid, err)
		}
		return nil, fmt.Errorf("store upload chunk: %w", err)
	}
	n := counted.N
	if n == 0 {
		h.dropChunk(ctx, key)
		return s, nil
	}
	s256, s512, err := rh.states()
	if err != nil {
		h.dropChunk(ctx, key)
		return nil, err
	}
	updated, err := core.UpdateJSON(core.WithKind(ctx, core.KindInternal), h.deps.Storage, sessionKey(id), func(doc *uploadSession, exists bool) error {
		if !exists {
			return fmt.Errorf("%w: %s", ErrBlobUploadUnknown, id)
		}
		if doc.Size != offset {
			return fmt.Errorf("%w: the upload is at %d, not %d", ErrRangeInvalid, doc.Size, offset)
		}
		doc.Size = offset + n
		doc.Chunks = append(doc.Chunks, name)
		doc.SHA256, doc.SHA512 = s256, s512
		return nil
	})
	if err != nil {
		h.dropChunk(ctx, key)
		return nil, err
	}
	return updated, nil
}

// dropChunk deletes a chunk that does not count, logging a failure: the
// upload cleanup removes it later anyway.
func (h *Handler) dropChunk(ctx context.Context, key string) {
	if err := h.deps.Storage.Delete(context.WithoutCancel(ctx), key); err != nil {
		h.log.WarnContext(ctx, "oci: delete upload chunk", "key", key, "error", err)
	}
}

// deleteUpload removes an upload's session and chunks. The session goes
// first, so nobody continues the upload while its chunks disappear.
func (h *Handler) deleteUpload(ctx context.Context, id string) error {
	st := h.deps.Storage
	if err := st.Delete(ctx, sessionKey(id)); err != nil {
		return fmt.Errorf("delete upload %s: %w", id, err)
	}
	var keys []string
	if err := st.Walk(ctx, uploadPrefix(id), func(o core.ObjectInfo) error {
		keys = append(keys, o.Key)
		return nil
	}); err != nil {
		return fmt.Errorf("list upload %s: %w", id, err)
	}
	for _, k := range keys {
		if err := st.Delete(ctx, k); err != nil {
			return fmt.Errorf("delete upload %s: %w", id, err)
		}
	}
	return nil
}

// CleanUploads removes the uploads not touched since before (abandoned by
// their clients), and the upstream fills staged before before (left by a
// crashed process), and returns how many it removed. An upload counts as
// touched when its session or any of its chunks was written.
func (h *Handler) CleanUploads(ctx context.Context, before time.Time) (int, error) {
	removed, err := h.fills.Sweep(ctx, before)
	if err != nil {
		return removed, err
	}
	opts := core.ListOptions{Delimiter: "/"}
	for {
		page, err := h.deps.Storage.List(ctx, uploadsPrefix, opts)
		if err != nil {
			return removed, fmt.Errorf("list uploads: %w", err)
		}
		for _, p := range page.CommonPrefixes {
			id := uploadIDFromPrefix(p)
			stale, err := h.uploadStale(ctx, id, before)
			if err != nil {
				return removed, err
			}
			if !stale {
				continue
			}
			if err := h.deleteUpload(ctx, id); err != nil {
				return removed, err
			}
			removed++
		}
		if page.NextStartAfter == "" {
			return removed, nil
		}
		opts.StartAfter = page.NextStartAfter
	}
}

// uploadStale reports whether nothing of upload id was written since before.
func (h *Handler) uploadStale(ctx context.Context, id string, before time.Time) (bool, error) {
	stale := true
	err := h.deps.Storage.Walk(ctx, uploadPrefix(id), func(o core.ObjectInfo) error {
		if !o.ModTime.Before(before) {
			stale = false
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return false, fmt.Errorf("list upload %s: %w", id, err)
	}
	return stale, nil
}

// errStop ends a walk early.
var errStop = errors.New("stop")

// chunkReader reads an upload's chunks one after the other, opening each
// only when the previous one is exhausted.
type chunkReader struct {
	ctx  context.Context
	st   *core.Storage
	keys []string
	cur  io.ReadCloser
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for {
		if c.cur == nil {
			if len(c.keys) == 0 {
				return 0, io.EOF
			}
			rc, _, err := c.st.Get(c.ctx, c.keys[0], nil)
			if err != nil {
				return 0, fmt.Errorf("open upload chunk: %w", err)
			}
			c.cur, c.keys = rc, c.keys[1:]
		}
		n, err := c.cur.Read(p)
		if errors.Is(err, io.EOF) {
			c.cur.Close()
			c.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

// Close closes the chunk being read.
func (c *chunkReader) Close() error {
	if c.cur != nil {
		return c.cur.Close()
	}
	return nil
}
