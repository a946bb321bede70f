package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

// flights lets one caller per key do the work while the others wait for
// it: the single flight of concurrent misses in one process.
type flights struct {
	mu sync.Mutex
	m  map[string]*flight
}

// flight is one piece of work in progress; val and err are set before done
// is closed.
type flight struct {
	done chan struct{}
	val  any
	err  error
}

// start returns the flight of key and whether the caller leads it (and
// must call finish).
func (fs *flights) start(key string) (*flight, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f, ok := fs.m[key]; ok {
		return f, false
	}
	if fs.m == nil {
		fs.m = map[string]*flight{}
	}
	f := &flight{done: make(chan struct{})}
	fs.m[key] = f
	return f, true
}

// finish ends the flight of key with its outcome.
func (fs *flights) finish(key string, f *flight, val any, err error) {
	fs.mu.Lock()
	delete(fs.m, key)
	fs.mu.Unlock()
	f.val, f.err = val, err
	close(f.done)
}

// wait waits for f to finish or ctx to end.
func (f *flight) wait(ctx context.Context) error {
	select {
	case <-f.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// leaseRecord is the content of a lease object.
type leaseRecord struct {
	Expires time.Time `json:"expires"`
}

// leaseKey is the key of the lease of key: beside it.
func leaseKey(key string) string { return key + ".lease" }

// acquire takes the lease of key for Policy.LeaseTTL, across the processes
// sharing the storage: a conditional put of a small object, which an
// expired lease does not block. It reports false when another process holds
// it. A storage failure is not a reason to refuse work: the lease then
// counts as taken. release removes the lease.
func (c *Client) acquire(ctx context.Context, key string) (release func(), ok bool) {
	ctx = core.WithKind(ctx, core.KindInternal)
	lk := leaseKey(key)
	rec, _ := json.Marshal(leaseRecord{Expires: c.now().Add(c.policy.LeaseTTL)})
	release = func() { _ = c.cfg.Storage.Delete(context.WithoutCancel(ctx), lk) }
	_, err := c.cfg.Storage.Put(ctx, lk, strings.NewReader(string(rec)), int64(len(rec)), core.PutOptions{IfAbsent: true})
	if err == nil {
		return release, true
	}
	if !errors.Is(err, core.ErrPreconditionFailed) {
		return func() {}, true
	}
	held, etag, err := c.readLease(ctx, lk)
	if err != nil {
		if errors.Is(err, core.ErrNotFound) { // released meanwhile: try once more
			if _, err := c.cfg.Storage.Put(ctx, lk, strings.NewReader(string(rec)), int64(len(rec)),
				core.PutOptions{IfAbsent: true}); err == nil {
				return release, true
			}
			return nil, false
		}
		return func() {}, true
	}
	if c.now().Before(held.Expires) {
		return nil, false
	}
	// Expired: take it over, unless someone else just did.
	if _, err := c.cfg.Storage.Put(ctx, lk, strings.NewReader(string(rec)), int64(len(rec)),
		core.PutOptions{IfMatch: etag}); err != nil {
		return nil, false
	}
	return release, true
}

func (c *Client) readLease(ctx context.Context, lk string) (leaseRecord, string, error) {
	var rec leaseRecord
	rc, info, err := c.cfg.Storage.Get(ctx, lk, nil)
	if err != nil {
		return rec, "", err
	}
	defer rc.Close()
	if err := json.NewDecoder(rc).Decode(&rec); err != nil {
		return rec, info.ETag, nil // unreadable: expired
	}
	return rec, info.ETag, nil
}

// waitLease waits, up to Policy.LeaseTTL, until the lease of key is gone
// (the other process finished) and returns early when ctx ends. It polls
// the storage, which offers no notification.
func (c *Client) waitLease(ctx context.Context, key string) {
	ctx = core.WithKind(ctx, core.KindInternal)
	deadline := time.Now().Add(c.policy.LeaseTTL)
	pause := 20 * time.Millisecond
	for time.Now().Before(deadline) {
		if _, err := c.cfg.Storage.Stat(ctx, leaseKey(key)); errors.Is(err, core.ErrNotFound) {
			return
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		pause = min(pause*2, 500*time.Millisecond)
	}
}
