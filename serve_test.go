package smartregistry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
)

// TestBaseURL: req.BaseURL is the configured RegistryURL, or is derived
// from the Host (and X-Forwarded-Proto) the client used.
func TestBaseURL(t *testing.T) {
	r := newFakeRegistry(t, Config{},
		fakeMount{base: "/npm", h: &fakeHandler{proto: core.ProtocolNPM}},
		fakeMount{base: "/pypi", registryURL: "https://pkgs.example.com/pypi", h: &fakeHandler{proto: core.ProtocolPyPI}},
		fakeMount{base: "/oci", h: &fakeHandler{proto: core.ProtocolOCI}},
	)
	srv := httptest.NewServer(r)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		name    string
		path    string
		header  http.Header
		host    string // Host header to send instead of the server's
		baseURL string
	}{
		{"from Host", "/npm/x", nil, "", "http://" + host + "/npm"},
		{"other Host", "/npm/x", nil, "registry.internal:8443", "http://registry.internal:8443/npm"},
		{"forwarded https", "/npm/x", http.Header{"X-Forwarded-Proto": {"https"}}, "pkgs.example.com", "https://pkgs.example.com/npm"},
		{"forwarded junk ignored", "/npm/x", http.Header{"X-Forwarded-Proto": {"gopher"}}, "", "http://" + host + "/npm"},
		{"configured RegistryURL wins", "/pypi/simple/", nil, "evil.example", "https://pkgs.example.com/pypi"},
		{"OCI at /v2: its base path", "/v2/", nil, "", "http://" + host + "/oci"},
		{"OCI at its base path", "/oci/v2/", nil, "", "http://" + host + "/oci"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header[k] = v
			}
			if tt.host != "" {
				req.Host = tt.host
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e echo
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatal(err)
			}
			if e.BaseURL != tt.baseURL {
				t.Errorf("BaseURL %q, want %q", e.BaseURL, tt.baseURL)
			}
		})
	}
	t.Run("HandleRequest without one", func(t *testing.T) {
		e := readEcho(t, get(r, t.Context(), http.MethodGet, "/npm/x"))
		if e.BaseURL != "http://localhost/npm" {
			t.Errorf("BaseURL %q", e.BaseURL)
		}
		req := &core.RequestContext{Method: http.MethodGet, Path: "/npm/x", BaseURL: "https://given.example/npm"}
		if e := readEcho(t, r.HandleRequest(t.Context(), req)); e.BaseURL != "https://given.example/npm" {
			t.Errorf("a given BaseURL was replaced: %q", e.BaseURL)
		}
	})
}

// TestHookRefusalReachesClient: a BeforePut hook's refusal travels from
// Storage through a handler's error to the client as 403 with its reason.
func TestHookRefusalReachesClient(t *testing.T) {
	var (
		mu   sync.Mutex
		seen core.HookEvent
	)
	cfg := Config{StorageHooks: core.StorageHooks{
		BeforePut: func(_ context.Context, ev core.HookEvent) error {
			mu.Lock()
			seen = ev
			mu.Unlock()
			if ev.Size > 4 {
				return fmt.Errorf("quota of 4 bytes exceeded by %s", ev.Key)
			}
			return nil
		},
	}}
	var r *Registry
	h := &fakeHandler{proto: core.ProtocolNPM, handle: func(ctx context.Context, req *core.RequestContext) (*core.Response, error) {
		req.Actor.UserID = "alice"
		if _, err := r.Storage().Put(ctx, "npm/blobs/x", req.Body, req.ContentLength, core.PutOptions{}); err != nil {
			return nil, fmt.Errorf("store tarball: %w", err)
		}
		return core.NewResponse(http.StatusCreated), nil
	}}
	r = newFakeRegistry(t, cfg, fakeMount{base: "/npm", h: h})
	srv := httptest.NewServer(r)
	defer srv.Close()

	tests := []struct {
		body   string
		status int
		reason string
	}{
		{"tiny", http.StatusCreated, ""},
		{"too large", http.StatusForbidden, "put refused: quota of 4 bytes exceeded by npm/blobs/x"},
	}
	for _, tt := range tests {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, srv.URL+"/npm/x", strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("User-Agent", "npm/10")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.reason) {
			t.Errorf("PUT %q: %d %s, want %d with %q", tt.body, resp.StatusCode, b, tt.status, tt.reason)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if seen.Protocol != core.ProtocolNPM || seen.Actor == nil || seen.Actor.UserID != "alice" ||
		seen.Actor.UserAgent != "npm/10" || seen.Actor.IP != "127.0.0.1" {
		t.Errorf("the hook saw %+v (actor %+v)", seen, seen.Actor)
	}
}

// TestServeHTTPStreamsRequestBody: the handler reads the start of the body
// while the client is still sending it, which a buffering server would
// deadlock on.
func TestServeHTTPStreamsRequestBody(t *testing.T) {
	firstChunk := make(chan string, 1)
	h := &fakeHandler{proto: core.ProtocolNPM, handle: func(ctx context.Context, req *core.RequestContext) (*core.Response, error) {
		buf := make([]byte, 5)
		if _, err := io.ReadFull(req.Body, buf); err != nil {
			return nil, err
		}
		firstChunk <- string(buf)
		rest, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		return core.BytesResponse(http.StatusOK, "text/plain", []byte(fmt.Sprintf("%s+%s", buf, rest))), nil
	}}
	srv := httptest.NewServer(newFakeRegistry(t, Config{}, fakeMount{base: "/npm", h: h}))
	defer srv.Close()

	pr, pw := io.Pipe()
	type result struct {
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, srv.URL+"/npm/x", pr)
		if err != nil {
			done <- result{err: err}
			return
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		done <- result{string(b), err}
	}()
	if _, err := pw.Write([]byte("first")); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-firstChunk:
		if got != "first" {
			t.Fatalf("first chunk %q", got)
		}
	case <-time.After(10 * time.Second): // a watchdog, not synchronisation
		t.Fatal("the handler did not get the body before it ended: the request was buffered")
	}
	if _, err := pw.Write([]byte("second")); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	res := <-done
	if res.err != nil || res.body != "first+second" {
		t.Errorf("response %q, %v", res.body, res.err)
	}
}

// gatedBody yields one chunk, then waits for the gate before the second:
// the client must have received the first chunk while the response was
// still being produced.
type gatedBody struct {
	chunks [][]byte
	gate   chan struct{}
	n      int
	closed *atomic.Bool
}

func (g *gatedBody) Read(p []byte) (int, error) {
	if len(g.chunks) == 0 {
		return 0, io.EOF
	}
	if g.n == 1 {
		<-g.gate
	}
	n := copy(p, g.chunks[0])
	if g.chunks[0] = g.chunks[0][n:]; len(g.chunks[0]) == 0 {
		g.chunks = g.chunks[1:]
		g.n++
	}
	return n, nil
}

func (g *gatedBody) Close() error { g.closed.Store(true); return nil }

func TestServeHTTPStreamsResponseAndHEAD(t *testing.T) {
	const chunk = 64 << 10
	first, second := bytes.Repeat([]byte("a"), chunk), bytes.Repeat([]byte("b"), chunk)
	gate := make(chan struct{})
	var closed atomic.Bool
	h := &fakeHandler{proto: core.ProtocolNPM, handle: func(ctx context.Context, req *core.RequestContext) (*core.Response, error) {
		if req.Method == http.MethodHead {
			body := io.NopCloser(strings.NewReader("would-be-body"))
			return core.StreamResponse(http.StatusOK, "application/octet-stream", errBody{body, &closed}, 13), nil
		}
		body := &gatedBody{chunks: [][]byte{bytes.Clone(first), bytes.Clone(second)}, gate: gate, closed: &closed}
		return core.StreamResponse(http.StatusOK, "application/octet-stream", body, 2*chunk), nil
	}}
	srv := httptest.NewServer(newFakeRegistry(t, Config{}, fakeMount{base: "/npm", h: h}))
	defer srv.Close()

	t.Run("GET streams", func(t *testing.T) {
		closed.Store(false)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/npm/x.tgz", nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got := make([]byte, chunk)
		read := make(chan error, 1)
		go func() { _, err := io.ReadFull(resp.Body, got); read <- err }()
		select {
		case err := <-read:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second): // a watchdog, not synchronisation
			close(gate)
			t.Fatal("the first chunk did not arrive before the body ended: the response was buffered")
		}
		close(gate)
		rest, err := io.ReadAll(resp.Body)
		if err != nil || !bytes.Equal(got, first) || !bytes.Equal(rest, second) {
			t.Errorf("body: %d+%d bytes, %v", len(got), len(rest), err)
		}
		if resp.ContentLength != 2*chunk {
			t.Errorf("Content-Length %d", resp.ContentLength)
		}
	})
	t.Run("HEAD writes no body", func(t *testing.T) {
		closed.Store(false)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodHead, srv.URL+"/npm/x.tgz", nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(b) != 0 || resp.Header.Get("Content-Length") != "13" {
			t.Errorf("HEAD: %d, %d body bytes, Content-Length %q", resp.StatusCode, len(b), resp.Header.Get("Content-Length"))
		}
		if !closed.Load() {
			t.Error("the unused body of a HEAD response was not closed")
		}
	})
}
