package core

import (
	"context"
	"fmt"
	"io"
	"time"
)

// HookEvent describes a storage operation to a hook.
type HookEvent struct {
	// Protocol is the protocol whose request caused the operation, or "".
	Protocol Protocol
	// Kind is what the object is (an artifact, a package's metadata, an
	// index, a temporary upload, internal state), or "" when unknown.
	Kind ObjectKind
	// Package is the package the object belongs to, or "".
	Package string
	// Version is the version the object belongs to, or "".
	Version string
	// Key is the storage key, for those who want it. The layout of each
	// protocol is drawn in its paths.go.
	Key string
	// Size is the object size in bytes, or -1 when not known (a put of a
	// stream of unknown length, before it is written; a delete).
	Size int64
	// Actor is who sent the request, or nil; its OrgID is the tenant.
	Actor *Actor
	// Time is when the operation was asked for.
	Time time.Time
}

// StorageHooks observe and may veto storage operations, for quotas and audit
// logs. Nil hooks are skipped. Hooks must be safe for concurrent use.
//
// A Before hook that returns an error refuses the operation, and the
// request fails with nothing half-done: a publish whose artifact or
// metadata write is refused leaves no trace. The error chooses the
// client's status by its category ([ErrTooLarge] → 413, [ErrForbidden]
// or an uncategorised error → 403) and its text is shown to the client.
// Before hooks are not asked about [KindIndex] writes, which follow a
// change already made; After hooks see every operation.
type StorageHooks struct {
	// BeforePut may refuse a write (put, or a move into place).
	BeforePut func(ctx context.Context, ev HookEvent) error
	// AfterPut sees each completed write, with the stored size.
	AfterPut func(ctx context.Context, ev HookEvent)
	// BeforeDelete may refuse a delete.
	BeforeDelete func(ctx context.Context, ev HookEvent) error
	// AfterDelete sees each completed delete.
	AfterDelete func(ctx context.Context, ev HookEvent)
	// AfterGet sees each object opened for reading (a download, or the
	// registry reading its own documents).
	AfterGet func(ctx context.Context, ev HookEvent)
}

// Storage wraps a [Backend] with hooks. Protocol handlers use it for every
// object they read or write; the protocol and actor for hook events come from
// the context ([WithProtocol], [WithActor]).
type Storage struct {
	backend  Backend
	hooks    StorageHooks
	segments segmentCache
}

// NewStorage returns a Storage over backend with the given hooks.
func NewStorage(backend Backend, hooks StorageHooks) *Storage {
	return &Storage{backend: backend, hooks: hooks}
}

// Backend returns the wrapped backend.
func (s *Storage) Backend() Backend { return s.backend }

func event(ctx context.Context, key string, size int64) HookEvent {
	ref := ObjectFrom(ctx)
	return HookEvent{Protocol: ProtocolFrom(ctx), Kind: ref.Kind, Package: ref.Package, Version: ref.Version,
		Key: key, Size: size, Actor: ActorFrom(ctx), Time: time.Now()}
}

// refuse asks a Before hook about an operation, unless it is a derived
// index write.
func refuse(ctx context.Context, hook func(context.Context, HookEvent) error, op, key string, size int64) error {
	if hook == nil || ObjectFrom(ctx).Kind == KindIndex {
		return nil
	}
	if err := hook(ctx, event(ctx, key, size)); err != nil {
		return &RefusedError{Op: op, Key: key, Err: err}
	}
	return nil
}

// Get opens key (or a range of it) for reading and runs the AfterGet hook.
func (s *Storage) Get(ctx context.Context, key string, rng *ByteRange) (io.ReadCloser, ObjectInfo, error) {
	rc, info, err := s.backend.Get(ctx, key, rng)
	if err != nil {
		return nil, info, err
	}
	if s.hooks.AfterGet != nil {
		s.hooks.AfterGet(ctx, event(ctx, key, info.Size))
	}
	return rc, info, nil
}

// Stat describes the object at key.
func (s *Storage) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	return s.backend.Stat(ctx, key)
}

// Put stores r at key after the BeforePut hook allowed it; size is -1 when
// unknown.
func (s *Storage) Put(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions) (ObjectInfo, error) {
	if err := refuse(ctx, s.hooks.BeforePut, "put", key, size); err != nil {
		return ObjectInfo{}, err
	}
	info, err := s.backend.Put(ctx, key, r, size, opts)
	if err != nil {
		return info, err
	}
	if s.hooks.AfterPut != nil {
		s.hooks.AfterPut(ctx, event(ctx, key, info.Size))
	}
	return info, nil
}

// Delete removes key after the BeforeDelete hook allowed it.
func (s *Storage) Delete(ctx context.Context, key string) error {
	if err := refuse(ctx, s.hooks.BeforeDelete, "delete", key, -1); err != nil {
		return err
	}
	if err := s.backend.Delete(ctx, key); err != nil {
		return err
	}
	if s.hooks.AfterDelete != nil {
		s.hooks.AfterDelete(ctx, event(ctx, key, -1))
	}
	return nil
}

// List returns one page of keys under prefix.
func (s *Storage) List(ctx context.Context, prefix string, opts ListOptions) (ListPage, error) {
	return s.backend.List(ctx, prefix, opts)
}

// Walk calls fn for every object under prefix, page by page, in key order.
// It stops at the first error fn returns and returns it.
func (s *Storage) Walk(ctx context.Context, prefix string, fn func(ObjectInfo) error) error {
	opts := ListOptions{}
	for {
		page, err := s.backend.List(ctx, prefix, opts)
		if err != nil {
			return err
		}
		for _, o := range page.Objects {
			if err := fn(o); err != nil {
				return err
			}
		}
		if page.NextStartAfter == "" {
			return nil
		}
		opts.StartAfter = page.NextStartAfter
	}
}

// Copy copies srcKey to dstKey, server-side where the backend can. The
// BeforePut and AfterPut hooks run for dstKey.
func (s *Storage) Copy(ctx context.Context, srcKey, dstKey string) (ObjectInfo, error) {
	c, ok := s.backend.(Copier)
	if !ok {
		rc, info, err := s.backend.Get(ctx, srcKey, nil)
		if err != nil {
			return ObjectInfo{}, err
		}
		defer rc.Close()
		return s.Put(ctx, dstKey, rc, info.Size, PutOptions{})
	}
	if err := s.refuseCopy(ctx, srcKey, dstKey); err != nil {
		return ObjectInfo{}, err
	}
	info, err := c.Copy(ctx, srcKey, dstKey)
	if err != nil {
		return info, fmt.Errorf("copy %s to %s: %w", srcKey, dstKey, err)
	}
	if s.hooks.AfterPut != nil {
		s.hooks.AfterPut(ctx, event(ctx, dstKey, info.Size))
	}
	return info, nil
}

// Move puts the object at srcKey at dstKey under opts' condition and
// removes srcKey, without writing the bytes again where the backend has the
// [Mover] capability; otherwise it streams them (Get, Put, Delete). The
// BeforePut and AfterPut hooks run for dstKey; no delete hook runs for
// srcKey, which ends with the move.
func (s *Storage) Move(ctx context.Context, srcKey, dstKey string, opts PutOptions) (ObjectInfo, error) {
	if err := s.refuseCopy(ctx, srcKey, dstKey); err != nil {
		return ObjectInfo{}, err
	}
	var info ObjectInfo
	var err error
	if m, ok := s.backend.(Mover); ok {
		info, err = m.Move(ctx, srcKey, dstKey, opts)
	} else {
		info, err = moveByCopy(ctx, s.backend, srcKey, dstKey, opts)
	}
	if err != nil {
		return info, err
	}
	if s.hooks.AfterPut != nil {
		s.hooks.AfterPut(ctx, event(ctx, dstKey, info.Size))
	}
	return info, nil
}

// refuseCopy asks the BeforePut hook about putting the object at srcKey at
// dstKey (a copy or move), with its size: a stat, only when there is a hook.
func (s *Storage) refuseCopy(ctx context.Context, srcKey, dstKey string) error {
	if s.hooks.BeforePut == nil {
		return nil
	}
	st, err := s.backend.Stat(ctx, srcKey)
	if err != nil {
		return err
	}
	return refuse(ctx, s.hooks.BeforePut, "put", dstKey, st.Size)
}

// moveByCopy moves an object through the caller, for backends without the
// Mover capability.
func moveByCopy(ctx context.Context, b Backend, srcKey, dstKey string, opts PutOptions) (ObjectInfo, error) {
	if err := ValidateMove(srcKey, dstKey); err != nil {
		return ObjectInfo{}, err
	}
	rc, st, err := b.Get(ctx, srcKey, nil)
	if err != nil {
		return ObjectInfo{}, err
	}
	defer rc.Close()
	info, err := b.Put(ctx, dstKey, rc, st.Size, opts)
	if err != nil {
		return ObjectInfo{}, err
	}
	_ = b.Delete(context.WithoutCancel(ctx), srcKey)
	return info, nil
}

// Ping reports whether the backend is reachable; backends without the
// [Pinger] capability are assumed reachable.
func (s *Storage) Ping(ctx context.Context) error {
	if p, ok := s.backend.(Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}
