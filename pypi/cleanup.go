package pypi

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

// sweeper runs the background sweeps of temporary upload objects, at most
// one at a time and at most one per Config.UploadCleanupInterval.
type sweeper struct {
	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	last    time.Time // start of the last sweep
	running bool
	closed  bool
}

// maybeCleanUploads starts a background sweep of the temporary upload
// objects older than Config.UploadMaxAge, unless one runs, one started less
// than Config.UploadCleanupInterval ago, or the handler is closed. Uploads
// call it, so that what a crashed process left behind goes soon after the
// registry serves again, without a timer when nothing is uploaded.
func (h *Handler) maybeCleanUploads() {
	if h.cfg.UploadCleanupInterval < 0 {
		return
	}
	now := h.now()
	s := &h.sweeps
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.running || (!s.last.IsZero() && now.Sub(s.last) < h.cfg.UploadCleanupInterval) {
		return
	}
	s.last, s.running = now, true
	s.wg.Go(func() {
		defer func() {
			s.mu.Lock()
			s.running = false
			s.mu.Unlock()
		}()
		n, err := h.CleanUploads(s.ctx, now.Add(-h.cfg.UploadMaxAge))
		if err != nil && s.ctx.Err() == nil {
			h.log.WarnContext(s.ctx, "pypi: upload cleanup failed", "removed", n, "error", err)
		} else if n > 0 {
			h.log.InfoContext(s.ctx, "pypi: removed abandoned uploads", "removed", n)
		}
	})
}

// CleanUploads removes the temporary upload objects created before before
// (left behind by a process that crashed mid-upload) and returns how many
// it removed. An object also written before before counts: its creation
// time is in its key (see paths.go), and an object whose storage
// modification time is later is an upload that took long to arrive and is
// still being checked, so it stays. It lists pypi/uploads/ once.
func (h *Handler) CleanUploads(ctx context.Context, before time.Time) (int, error) {
	removed := 0
	err := h.deps.Storage.Walk(ctx, uploadsPrefix, func(o core.ObjectInfo) error {
		created, ok := uploadCreated(o.Key)
		if !ok {
			created = o.ModTime // a key from before creation times were recorded
		}
		if !created.Before(before) || !o.ModTime.Before(before) {
			return nil
		}
		if err := h.deps.Storage.Delete(ctx, o.Key); err != nil {
			return fmt.Errorf("delete %s: %w", o.Key, err)
		}
		removed++
		return nil
	})
	if err != nil {
		return removed, fmt.Errorf("clean uploads: %w", err)
	}
	return removed, nil
}

// Close stops the background sweep of temporary uploads, waiting for one
// in progress until ctx ends. Uploads still work after Close; they just
// start no more sweeps. The Registry's Close calls it.
func (h *Handler) Close(ctx context.Context) error {
	s := &h.sweeps
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("pypi: close: %w", ctx.Err())
	}
}
