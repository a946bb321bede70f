package upstream

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// fakeClock is a settable clock for the cache policy.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// origin is a test upstream that counts its requests.
type origin struct {
	*httptest.Server
	hits atomic.Int64
}

func newOrigin(t *testing.T, h http.HandlerFunc) *origin {
	o := &origin{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(o.Close)
	return o
}

// newTestClient returns a client of the npm protocol over the given
// upstreams, on a fresh memory storage unless one is given.
func newTestClient(t testing.TB, st *core.Storage, clock *fakeClock, p Policy, bs BreakerSettings, ups ...core.Upstream) *Client {
	t.Helper()
	prov, err := NewStaticWith(map[core.Protocol][]core.Upstream{core.ProtocolNPM: ups}, bs)
	if err != nil {
		t.Fatal(err)
	}
	if st == nil {
		st = core.NewStorage(memory.New(), core.StorageHooks{})
	}
	cfg := Config{Protocol: core.ProtocolNPM, Provider: prov, Storage: st, Policy: p}
	if clock != nil {
		cfg.Now = clock.Now
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(t.Context()) })
	return c
}
