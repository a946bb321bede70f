package upstream

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// A settable upstream document with an ETag, answering If-None-Match.
type docOrigin struct {
	*origin
	mu     sync.Mutex
	body   string
	status int
}

func newDocOrigin(t *testing.T, body string) *docOrigin {
	d := &docOrigin{body: body, status: 200}
	d.origin = newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		body, status := d.body, d.status
		d.mu.Unlock()
		if status != 200 {
			w.WriteHeader(status)
			return
		}
		etag := `"` + body + `"`
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	})
	return d
}

func (d *docOrigin) set(body string, status int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.body, d.status = body, status
}

func metaReq() MetadataRequest {
	return MetadataRequest{Name: "pkg", Key: "npm/upstream/pkg/doc", Path: "/pkg"}
}

func TestMetadataTTLRevalidationAndStaleServing(t *testing.T) {
	o := newDocOrigin(t, "v1")
	clock := newClock()
	c := newTestClient(t, nil, clock, Policy{MetadataTTL: time.Minute}, BreakerSettings{}, core.Upstream{Name: "o", URL: o.URL})
	get := func(want string, wantStale bool, wantHits int64) {
		t.Helper()
		d, err := c.Metadata(t.Context(), metaReq())
		if err != nil {
			t.Fatal(err)
		}
		if string(d.Body) != want || d.Stale != wantStale || o.hits.Load() != wantHits {
			t.Fatalf("got %q stale=%v after %d requests; want %q stale=%v after %d", d.Body, d.Stale, o.hits.Load(), want, wantStale, wantHits)
		}
	}
	get("v1", false, 1)
	get("v1", false, 1) // fresh: no request
	clock.advance(2 * time.Minute)
	get("v1", false, 2) // revalidated: 304
	o.set("v2", 200)
	get("v1", false, 2) // the 304 refreshed it
	clock.advance(2 * time.Minute)
	get("v2", false, 3)
	o.set("", 500)
	clock.advance(2 * time.Minute)
	get("v2", true, 4) // upstream down: stale copy
	o.set("v3", 200)
	get("v3", false, 5)
}

// Document.Modified is the upstream's Last-Modified when it sends one,
// else when the content was first fetched: a revalidation (304, or a 200
// with the same body) keeps it, a new body moves it.
func TestMetadataModified(t *testing.T) {
	o := newDocOrigin(t, "v1")
	clock := newClock()
	c := newTestClient(t, nil, clock, Policy{MetadataTTL: time.Minute}, BreakerSettings{}, core.Upstream{Name: "o", URL: o.URL})
	modified := func() time.Time {
		t.Helper()
		d, err := c.Metadata(t.Context(), metaReq())
		if err != nil {
			t.Fatal(err)
		}
		return d.Modified
	}
	first := clock.Now()
	if m := modified(); !m.Equal(first) {
		t.Fatalf("first fetch: modified %v, want %v", m, first)
	}
	clock.advance(2 * time.Minute)
	if m := modified(); !m.Equal(first) { // 304
		t.Fatalf("after a revalidation: modified %v, want %v", m, first)
	}
	o.set("v2", 200)
	clock.advance(2 * time.Minute)
	if m := modified(); !m.Equal(clock.Now()) {
		t.Fatalf("after a change: modified %v, want %v", m, clock.Now())
	}

	lm := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
	withLM := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Last-Modified", lm.Format(http.TimeFormat))
		io.WriteString(w, "doc")
	})
	c = newTestClient(t, nil, clock, Policy{MetadataTTL: time.Minute}, BreakerSettings{}, core.Upstream{Name: "lm", URL: withLM.URL})
	if m := modified(); !m.Equal(lm) {
		t.Fatalf("upstream Last-Modified: modified %v, want %v", m, lm)
	}
}

func TestMetadataStaleWhileRevalidate(t *testing.T) {
	o := newDocOrigin(t, "v1")
	clock := newClock()
	c := newTestClient(t, nil, clock, Policy{MetadataTTL: time.Minute, StaleWhileRevalidate: time.Hour},
		BreakerSettings{}, core.Upstream{Name: "o", URL: o.URL})
	if _, err := c.Metadata(t.Context(), metaReq()); err != nil {
		t.Fatal(err)
	}
	o.set("v2", 200)
	clock.advance(2 * time.Minute)
	d, err := c.Metadata(t.Context(), metaReq())
	if err != nil || string(d.Body) != "v1" || !d.Stale {
		t.Fatalf("within the window: %v %+v", err, d)
	}
	if err := c.Close(t.Context()); err != nil { // waits for the background revalidation
		t.Fatal(err)
	}
	if d, err = c.Metadata(t.Context(), metaReq()); err != nil || string(d.Body) != "v2" || d.Stale {
		t.Fatalf("after revalidation: %v %+v", err, d)
	}
}

func TestMetadataNegativeCache(t *testing.T) {
	o := newDocOrigin(t, "")
	o.set("", 404)
	clock := newClock()
	c := newTestClient(t, nil, clock, Policy{NegativeTTL: 30 * time.Second}, BreakerSettings{}, core.Upstream{Name: "o", URL: o.URL})
	for range 3 {
		if _, err := c.Metadata(t.Context(), metaReq()); !errors.Is(err, ErrNotFound) || core.HTTPStatus(err) != 404 {
			t.Fatal(err)
		}
	}
	if o.hits.Load() != 1 {
		t.Fatalf("%d upstream requests for a remembered 404", o.hits.Load())
	}
	o.set("now", 200)
	clock.advance(time.Minute)
	if d, err := c.Metadata(t.Context(), metaReq()); err != nil || string(d.Body) != "now" {
		t.Fatal(err, d)
	}
}

func TestMetadataUnavailableWithoutCopy(t *testing.T) {
	o := newDocOrigin(t, "")
	o.set("", 500)
	c := newTestClient(t, nil, nil, Policy{}, BreakerSettings{}, core.Upstream{Name: "o", URL: o.URL})
	if _, err := c.Metadata(t.Context(), metaReq()); !errors.Is(err, ErrUnavailable) || core.HTTPStatus(err) != 503 {
		t.Fatal(err)
	}
}

func TestMetadataCheckRefusesBody(t *testing.T) {
	o := newDocOrigin(t, "not json")
	c := newTestClient(t, nil, nil, Policy{}, BreakerSettings{}, core.Upstream{Name: "o", URL: o.URL})
	req := metaReq()
	req.Check = func(b []byte, _ core.Upstream) ([]byte, error) {
		if !strings.HasPrefix(string(b), "{") {
			return nil, errors.New("not a JSON object")
		}
		return b, nil
	}
	if _, err := c.Metadata(t.Context(), req); !errors.Is(err, ErrUnavailable) {
		t.Fatal(err)
	}
	if _, err := c.cfg.Storage.Stat(t.Context(), req.Key); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("a refused body was cached: %v", err)
	}
}

// blockingOrigin holds every request until release is closed and tells
// when the first arrived.
func blockingOrigin(t *testing.T, body string) (o *origin, entered <-chan struct{}, release chan struct{}) {
	in := make(chan struct{})
	var once sync.Once
	release = make(chan struct{})
	o = newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(in) })
		<-release
		io.WriteString(w, body)
	})
	return o, in, release
}

func TestMetadataSingleFlightInProcess(t *testing.T) {
	o, entered, release := blockingOrigin(t, "doc")
	c := newTestClient(t, nil, nil, Policy{}, BreakerSettings{}, core.Upstream{Name: "o", URL: o.URL})
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range 20 {
		wg.Go(func() {
			if d, err := c.Metadata(t.Context(), metaReq()); err != nil || string(d.Body) != "doc" {
				failed.Add(1)
			}
		})
	}
	<-entered
	close(release)
	wg.Wait()
	if failed.Load() != 0 || o.hits.Load() != 1 {
		t.Fatalf("%d failed, %d upstream requests", failed.Load(), o.hits.Load())
	}
}

// Two processes (two clients) on one storage: the second waits on the
// first's lease instead of asking the upstream too.
func TestMetadataLeaseAcrossReplicas(t *testing.T) {
	o, entered, release := blockingOrigin(t, "doc")
	st := core.NewStorage(memory.New(), core.StorageHooks{})
	up := core.Upstream{Name: "o", URL: o.URL}
	a := newTestClient(t, st, nil, Policy{}, BreakerSettings{}, up)
	b := newTestClient(t, st, nil, Policy{}, BreakerSettings{}, up)
	errs := make(chan error, 2)
	go func() { _, err := a.Metadata(t.Context(), metaReq()); errs <- err }()
	<-entered // a holds the lease now
	go func() {
		d, err := b.Metadata(t.Context(), metaReq())
		if err == nil && string(d.Body) != "doc" {
			err = errors.New("wrong body " + string(d.Body))
		}
		errs <- err
	}()
	close(release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if o.hits.Load() != 1 {
		t.Fatalf("%d upstream requests", o.hits.Load())
	}
	if _, err := st.Stat(t.Context(), leaseKey(metaReq().Key)); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("lease left behind: %v", err)
	}
}

func TestLeaseExpiresAndIsTakenOver(t *testing.T) {
	clock := newClock()
	c := newTestClient(t, nil, clock, Policy{LeaseTTL: time.Second}, BreakerSettings{}, core.Upstream{Name: "o", URL: "http://127.0.0.1:1"})
	if _, ok := c.acquire(t.Context(), "k"); !ok {
		t.Fatal("first acquire failed")
	}
	if _, ok := c.acquire(t.Context(), "k"); ok {
		t.Fatal("a held lease was taken")
	}
	clock.advance(2 * time.Second)
	release, ok := c.acquire(t.Context(), "k")
	if !ok {
		t.Fatal("an expired lease was not taken over")
	}
	release()
	if _, ok := c.acquire(t.Context(), "k"); !ok {
		t.Fatal("a released lease was not free")
	}
}

// The breaker scenario on the metadata path: the upstream hangs
// after the document was cached; the first requests past the TTL wait for
// the timeout and get the stale copy, after the threshold they get it at
// once, and after recovery the breaker closes and fresh content returns.
func TestMetadataStaleServedFastOnceTheBreakerOpens(t *testing.T) {
	const timeout = 300 * time.Millisecond
	var hanging atomic.Bool
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	body := atomic.Value{}
	body.Store("v1")
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if hanging.Load() {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
			return
		}
		io.WriteString(w, body.Load().(string))
	})
	clock := newClock()
	c := newTestClient(t, nil, clock, Policy{MetadataTTL: time.Minute, RequestTimeout: timeout},
		BreakerSettings{FailureThreshold: 2, OpenTimeout: 200 * time.Millisecond}, core.Upstream{Name: "o", URL: o.URL})
	get := func() (*Document, time.Duration) {
		t.Helper()
		start := time.Now()
		d, err := c.Metadata(t.Context(), metaReq())
		if err != nil {
			t.Fatal(err)
		}
		return d, time.Since(start)
	}
	get()
	hanging.Store(true)
	for i := range 4 {
		clock.advance(2 * time.Minute)
		d, took := get()
		if string(d.Body) != "v1" || !d.Stale {
			t.Fatalf("request %d: %+v", i, d)
		}
		switch {
		case i < 2 && took < timeout:
			t.Fatalf("request %d took %v: the upstream was not asked", i, took)
		case i >= 2 && took > timeout/3:
			t.Fatalf("request %d took %v with the breaker open", i, took)
		}
		t.Logf("request %d: stale copy in %v", i, took)
	}
	hanging.Store(false)
	body.Store("v2")
	waitState(t, c, "half-open")
	clock.advance(2 * time.Minute)
	if d, _ := get(); string(d.Body) != "v2" || d.Stale {
		t.Fatalf("after recovery: %+v", d)
	}
	if s := c.Breakers().States()[0]; s.State != "closed" {
		t.Fatalf("breaker %s after recovery", s.State)
	}
}
