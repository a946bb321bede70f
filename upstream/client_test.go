package upstream

import (
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

func TestFetchAsksUpstreamsInOrderWithTheirCredentials(t *testing.T) {
	var gotA, gotB string
	a := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		gotA = r.Header.Get("Authorization")
		http.NotFound(w, r)
	})
	b := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		gotB = r.Header.Get("Authorization")
		if r.URL.EscapedPath() != "/base/@scope%2fpkg" {
			http.Error(w, "wrong path "+r.URL.EscapedPath(), http.StatusBadRequest)
			return
		}
		io.WriteString(w, "hello")
	})
	c := newTestClient(t, nil, nil, Policy{}, BreakerSettings{},
		core.Upstream{Name: "b", URL: b.URL + "/base/", Priority: 2, Username: "u", Password: "p"},
		core.Upstream{Name: "a", URL: a.URL, Priority: 1, Token: "tok"},
	)
	resp, err := c.Fetch(t.Context(), "@scope/pkg", "/@scope%2fpkg", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello" || resp.Upstream.Name != "b" {
		t.Fatalf("got %q from %s", body, resp.Upstream.Name)
	}
	if gotA != "Bearer tok" || gotB != "Basic dTpw" {
		t.Fatalf("credentials: a=%q b=%q", gotA, gotB)
	}
}

func TestFetchErrors(t *testing.T) {
	missing := newOrigin(t, http.NotFound)
	broken := newOrigin(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 502) })
	refusing := newOrigin(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", 401) })
	tests := []struct {
		name string
		ups  []core.Upstream
		want error
	}{
		{"all 404", []core.Upstream{{Name: "m", URL: missing.URL}}, ErrNotFound},
		{"none configured", nil, ErrNotFound},
		{"404 and 502", []core.Upstream{{Name: "m", URL: missing.URL}, {Name: "b", URL: broken.URL, Priority: 1}}, ErrUnavailable},
		{"401", []core.Upstream{{Name: "r", URL: refusing.URL}}, ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, nil, nil, Policy{}, BreakerSettings{}, tt.ups...)
			_, err := c.Fetch(t.Context(), "pkg", "/pkg", nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if core.HTTPStatus(err) != core.HTTPStatus(tt.want) {
				t.Fatalf("status %d", core.HTTPStatus(err))
			}
		})
	}
}

// With the upstream hanging, requests wait RequestTimeout until the
// breaker opens; then they skip it at once, and it closes again after the
// upstream recovers.
func TestBreakerOpensOnTimeoutsAndClosesAfterRecovery(t *testing.T) {
	const timeout = 300 * time.Millisecond
	healthy := make(chan bool, 1)
	healthy <- false
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		ok := <-healthy
		healthy <- ok
		if !ok {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
			return
		}
		io.WriteString(w, "ok")
	})
	c := newTestClient(t, nil, nil, Policy{RequestTimeout: timeout},
		BreakerSettings{FailureThreshold: 3, OpenTimeout: 200 * time.Millisecond},
		core.Upstream{Name: "o", URL: o.URL})
	fetch := func() (time.Duration, error) {
		start := time.Now()
		resp, err := c.Fetch(t.Context(), "pkg", "/pkg", nil)
		if err == nil {
			resp.Body.Close()
		}
		return time.Since(start), err
	}
	for i := range 3 {
		d, err := fetch()
		if !errors.Is(err, ErrUnavailable) || d < timeout {
			t.Fatalf("request %d: %v after %v, want a timeout", i, err, d)
		}
	}
	if s := c.Breakers().States(); len(s) != 1 || s[0].State != "open" {
		t.Fatalf("states %+v", s)
	}
	d, err := fetch()
	if !errors.Is(err, ErrUnavailable) || d > timeout/3 {
		t.Fatalf("with the breaker open: %v after %v, want a fast failure", err, d)
	}
	t.Logf("skipped an open breaker in %v (a timeout takes %v)", d, timeout)

	<-healthy
	healthy <- true
	waitState(t, c, "half-open")
	if _, err := fetch(); err != nil {
		t.Fatalf("trial request: %v", err)
	}
	if s := c.Breakers().States(); s[0].State != "closed" {
		t.Fatalf("after recovery: %+v", s)
	}
}

// A 404 is an answer: it never opens the breaker; 5xx answers do.
func TestBreakerCountsServerErrorsNotMissing(t *testing.T) {
	status := make(chan int, 1)
	status <- 404
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		s := <-status
		status <- s
		w.WriteHeader(s)
	})
	c := newTestClient(t, nil, nil, Policy{}, BreakerSettings{FailureThreshold: 2, OpenTimeout: time.Hour},
		core.Upstream{Name: "o", URL: o.URL})
	for range 5 {
		if _, err := c.Fetch(t.Context(), "pkg", "/pkg", nil); !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
	}
	if s := c.Breakers().States()[0]; s.State != "closed" {
		t.Fatalf("after 404s: %+v", s)
	}
	<-status
	status <- 503
	for range 2 {
		_, _ = c.Fetch(t.Context(), "pkg", "/pkg", nil)
	}
	before := o.hits.Load()
	if _, err := c.Fetch(t.Context(), "pkg", "/pkg", nil); !errors.Is(err, ErrUnavailable) {
		t.Fatal(err)
	}
	if s := c.Breakers().States()[0]; s.State != "open" || o.hits.Load() != before {
		t.Fatalf("after 503s: %+v, %d requests while open", s, o.hits.Load()-before)
	}
}

// waitState waits until the only breaker of c reaches state: an open
// breaker turns half-open when its timeout has passed, which only the clock
// can tell.
func waitState(t *testing.T, c *Client, state string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.Breakers().States()[0].State != state {
		if time.Now().After(deadline) {
			t.Fatalf("breaker still %s", c.Breakers().States()[0].State)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestHeadSendsHEADAndCachesNothing(t *testing.T) {
	var method string
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		method = r.Method
		w.Header().Set("Content-Length", "1234")
		w.WriteHeader(http.StatusOK)
	})
	st := core.NewStorage(memory.New(), core.StorageHooks{})
	c := newTestClient(t, st, nil, Policy{}, BreakerSettings{}, core.Upstream{Name: "o", URL: o.URL})
	resp, err := c.Head(t.Context(), "pkg", "/pkg", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if method != http.MethodHead || resp.Header.Get("Content-Length") != "1234" {
		t.Fatalf("method %s, Content-Length %q", method, resp.Header.Get("Content-Length"))
	}
	page, err := st.List(t.Context(), "", core.ListOptions{})
	if err != nil || len(page.Objects) != 0 {
		t.Fatalf("HEAD stored %v (%v)", page.Objects, err)
	}
}
