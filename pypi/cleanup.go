package pypi

import (
	"context"
	"time"
)

// maybeCleanUploads starts a background sweep of the temporary upload
// objects older than Config.UploadMaxAge, unless one runs, one started less
// than Config.UploadCleanupInterval ago, or the handler is closed (see
// core.Sweeper).
func (h *Handler) maybeCleanUploads() { h.sweeper.Maybe() }

// CleanUploads removes the temporary upload objects created before before
// (left behind by a process that crashed mid-upload) and returns how many
// it removed. An object also written before before counts: its creation
// time is in its key (see paths.go), and an object whose storage
// modification time is later is an upload that took long to arrive and is
// still being checked, so it stays. It lists pypi/uploads/ once.
func (h *Handler) CleanUploads(ctx context.Context, before time.Time) (int, error) {
	return h.sweeper.Sweep(ctx, before)
}

// Close stops the background sweep of temporary uploads, waiting for one
// in progress until ctx ends. Uploads still work after Close; they just
// start no more sweeps. The Registry's Close calls it.
func (h *Handler) Close(ctx context.Context) error {
	err := h.sweeper.Close(ctx)
	h.renders.Wait()
	return err
}
