package handlertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/filesystem"
	"github.com/smartregistry/smartregistry/core/storage/memory"
	"github.com/smartregistry/smartregistry/core/storage/storagetest"
	"github.com/smartregistry/smartregistry/upstream"
)

// Helpers for the tests of a protocol's upstream.go: fake upstreams that
// break, storage that loses answers or refuses cache fills.

// Upstreams returns a provider (upstream.Static) that names ups, first
// choice first, for every package of protocol p.
func Upstreams(t testing.TB, p core.Protocol, ups ...core.Upstream) core.UpstreamProvider {
	t.Helper()
	prov, err := upstream.NewStatic(map[core.Protocol][]core.Upstream{p: ups})
	if err != nil {
		t.Fatal(err)
	}
	return prov
}

// UpstreamClient returns upstream.New(cfg), with a logger that discards
// unless cfg has one, closed when the test ends.
func UpstreamClient(t testing.TB, cfg upstream.Config) *upstream.Client {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c, err := upstream.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// WriteBody answers with body and its Content-Length; when cut, it sends
// the first half only and breaks the connection off (it panics with
// http.ErrAbortHandler), as an upstream dying mid-transfer.
func WriteBody(w http.ResponseWriter, body []byte, cut bool) {
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if cut {
		w.Write(body[:len(body)/2])
		panic(http.ErrAbortHandler)
	}
	w.Write(body)
}

// LyingUpstream is an upstream that forwards each request to inner (with
// its Authorization and Host headers, so that URLs inner builds name the
// liar), but answers those whose path lies picks with a bad body of the
// right Content-Length: mode "short" sends its first half and breaks the
// connection off, any other mode ("wrong") as many "x" bytes. asked counts
// the bad answers. The server stops when the test ends.
func LyingUpstream(t testing.TB, inner *httptest.Server, mode string, lies func(path string) bool, asked *atomic.Int32) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequest(http.MethodGet, inner.URL+r.URL.RequestURI(), nil)
		req.Header.Set("Authorization", r.Header.Get("Authorization"))
		req.Host = r.Host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if !lies(r.URL.Path) {
			w.WriteHeader(resp.StatusCode)
			w.Write(body)
			return
		}
		asked.Add(1)
		if mode != "short" {
			body = bytes.Repeat([]byte("x"), len(body))
		}
		WriteBody(w, body, mode == "short")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// Filesystem returns a filesystem backend in a directory removed when the
// test ends.
func Filesystem(t testing.TB) core.Backend {
	be, err := filesystem.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return be
}

// LosingBackend returns a memory backend whose puts and moves onto keys
// under prefix take place but report storagetest.ErrLostAnswer while lose
// is set, which it is at first: the cache fills of a crash test.
func LosingBackend(prefix string) (backend core.Backend, lose *atomic.Bool) {
	lose = new(atomic.Bool)
	lose.Store(true)
	return &storagetest.LostAnswers{Backend: memory.New(), Lose: func(key string) bool {
		return lose.Load() && strings.HasPrefix(key, prefix)
	}}, lose
}

// SweepsStaged shows that what a crash leaves in the middle of a fill is
// swept like an abandoned upload: it stores a few bytes at staged, a key
// of the uploads area below uploadsPrefix dated two hours ago, and fails t
// unless clean (the handler's CleanUploads) removes exactly that one
// object and leaves nothing below uploadsPrefix.
func SweepsStaged(t testing.TB, st *core.Storage, staged, uploadsPrefix string, clean func(context.Context, time.Time) (int, error)) {
	t.Helper()
	ctx := t.Context()
	if _, err := st.Put(ctx, staged, strings.NewReader("partial"), 7, core.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if n, err := clean(ctx, time.Now().Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	_ = st.Walk(ctx, uploadsPrefix, func(o core.ObjectInfo) error {
		t.Errorf("left in the uploads area: %s", o.Key)
		return nil
	})
}

// ReadAll returns the whole object at key, failing t when it cannot.
func ReadAll(t testing.TB, st *core.Storage, key string) []byte {
	t.Helper()
	rc, _, err := st.Get(t.Context(), key, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FillHooks are storage hooks that watch cache fills: while Refuse is set
// (it is at first), BeforePut refuses every temporary object, as a quota
// would (core.ErrTooLarge); AfterPut records each write as
// "<kind> <package> <version>".
type FillHooks struct {
	Refuse atomic.Bool
	mu     sync.Mutex
	seen   []string
}

// NewFillHooks returns hooks that refuse fills until Refuse is cleared.
func NewFillHooks() *FillHooks {
	f := &FillHooks{}
	f.Refuse.Store(true)
	return f
}

// Hooks returns the core.StorageHooks to build the storage with.
func (f *FillHooks) Hooks() core.StorageHooks {
	return core.StorageHooks{
		BeforePut: func(_ context.Context, ev core.HookEvent) error {
			if ev.Kind == core.KindTemporary && f.Refuse.Load() {
				return fmt.Errorf("%w: quota exceeded", core.ErrTooLarge)
			}
			return nil
		},
		AfterPut: func(_ context.Context, ev core.HookEvent) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.seen = append(f.seen, fmt.Sprintf("%s %s %s", ev.Kind, ev.Package, ev.Version))
		},
	}
}

// RefusedThenAllowed runs fetch (the downloads of one artifact) twice:
// first with the fill refused, then allowed; after each it fails t unless
// key is cached exactly when the fill was allowed. A refused fill must
// leave fetch's downloads working, which fetch checks.
func (f *FillHooks) RefusedThenAllowed(t testing.TB, st *core.Storage, key string, fetch func()) {
	t.Helper()
	for range 2 {
		fetch()
		_, err := st.Stat(t.Context(), key)
		if refused := f.Refuse.Load(); refused != errors.Is(err, core.ErrNotFound) {
			t.Fatalf("refused=%v, cached: %v", refused, err)
		}
		f.Refuse.Store(false)
	}
}

// MustHaveSeen fails t unless each of want is part of the writes the
// hooks saw, one "<kind> <package> <version>" a line, each line ended by
// "\n" (so "metadata x \n" asks for a write without a version).
func (f *FillHooks) MustHaveSeen(t testing.TB, want ...string) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	joined := strings.Join(f.seen, "\n") + "\n"
	for _, w := range want {
		if !strings.Contains(joined, w) {
			t.Fatalf("hooks saw:\n%s\nwant %q", joined, w)
		}
	}
}
