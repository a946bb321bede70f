package core

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Sweeper removes the staged uploads below one prefix that crashed
// processes left behind (see [StageKey]). Handlers call [Sweeper.Maybe] on
// each upload, so that leftovers go soon after the registry serves again,
// without a timer when nothing is uploaded. It is safe for concurrent use.
type Sweeper struct {
	storage  *Storage
	prefix   string
	maxAge   time.Duration
	interval time.Duration
	log      *slog.Logger
	now      func() time.Time

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	last    time.Time // start of the last sweep
	running bool
	closed  bool
}

// NewSweeper returns a sweeper of the staged keys below prefix older than
// maxAge, which runs at most once per interval (a negative interval turns
// Maybe off). now is the clock (nil: time.Now); log receives failures.
func NewSweeper(s *Storage, prefix string, maxAge, interval time.Duration, log *slog.Logger, now func() time.Time) *Sweeper {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	w := &Sweeper{storage: s, prefix: prefix, maxAge: maxAge, interval: interval, log: log, now: now}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	return w
}

// Maybe starts a background sweep of the staged keys older than the
// maximum age, unless one runs, one started less than the interval ago, or
// the sweeper is closed.
func (w *Sweeper) Maybe() {
	if w.interval < 0 {
		return
	}
	now := w.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.running || (!w.last.IsZero() && now.Sub(w.last) < w.interval) {
		return
	}
	w.last, w.running = now, true
	w.wg.Go(func() {
		defer func() {
			w.mu.Lock()
			w.running = false
			w.mu.Unlock()
		}()
		n, err := w.Sweep(w.ctx, now.Add(-w.maxAge))
		if err != nil && w.ctx.Err() == nil {
			w.log.WarnContext(w.ctx, "sweep of abandoned uploads failed", "prefix", w.prefix, "removed", n, "error", err)
		} else if n > 0 {
			w.log.InfoContext(w.ctx, "removed abandoned uploads", "prefix", w.prefix, "removed", n)
		}
	})
}

// Sweep removes the staged keys created before before and returns how many
// it removed. A key whose storage modification time is later still is an
// upload that took long to arrive and is being checked, so it stays; a key
// without a creation time counts by its modification time. It lists the
// prefix once.
func (w *Sweeper) Sweep(ctx context.Context, before time.Time) (int, error) {
	removed := 0
	err := w.storage.Walk(ctx, w.prefix, func(o ObjectInfo) error {
		created, ok := StagedAt(o.Key)
		if !ok {
			created = o.ModTime
		}
		if !created.Before(before) || !o.ModTime.Before(before) {
			return nil
		}
		if err := w.storage.Delete(ctx, o.Key); err != nil {
			return fmt.Errorf("delete %s: %w", o.Key, err)
		}
		removed++
		return nil
	})
	if err != nil {
		return removed, fmt.Errorf("sweep %s: %w", w.prefix, err)
	}
	return removed, nil
}

// Wait blocks until the background sweep in progress, if any, ends.
func (w *Sweeper) Wait() { w.wg.Wait() }

// Close stops the background sweeps, waiting for one in progress until ctx
// ends. Maybe starts no more sweeps afterwards. Closing twice is allowed.
func (w *Sweeper) Close(ctx context.Context) error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.cancel()
	done := make(chan struct{})
	go func() {
		w.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("sweeper %s: close: %w", w.prefix, ctx.Err())
	}
}
