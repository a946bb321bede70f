package pypi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/smartregistry/smartregistry/core"
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
	h.closeOne.Do(func() { close(h.closing) })
	h.renders.Wait()
	if h.up != nil {
		err = errors.Join(err, h.up.Close(ctx))
	}
	return err
}

// RebuildIndex makes the /simple/ index agree with the project documents:
// a marker for every project with files, none for the others. Uploads and
// deletes keep it up to date; this repairs it after a crash between a
// project's first upload (or last delete) and its marker's write. It reads
// every project document, so it is slow on a large store.
func (h *Handler) RebuildIndex(ctx context.Context) error {
	ctx = core.WithKind(ctx, core.KindIndex)
	var projects []string
	if err := h.deps.Storage.Walk(ctx, projectsPrefix, func(o core.ObjectInfo) error {
		if p, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, projectsPrefix), "/project.json"); ok {
			projects = append(projects, p)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("pypi: rebuild index: %w", err)
	}
	for _, p := range projects {
		ed, _, err := core.GetEntryDoc[projectHead](ctx, h.deps.Storage, projectKey(p))
		if err != nil {
			return fmt.Errorf("pypi: rebuild index: %w", err)
		}
		if ed.Head.Files == 0 {
			err = h.deps.Storage.Delete(ctx, indexKey(p))
		} else {
			_, err = h.deps.Storage.Put(ctx, indexKey(p), bytes.NewReader(nil), 0, core.PutOptions{IfAbsent: true})
			if errors.Is(err, core.ErrPreconditionFailed) {
				err = nil
			}
		}
		if err != nil {
			return fmt.Errorf("pypi: rebuild index: %w", err)
		}
	}
	return nil
}
