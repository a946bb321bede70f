package smartregistry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// fakeHandler is a ProtocolHandler whose behaviour each test chooses. By
// default it answers 200 with what it saw as JSON (an echo).
type fakeHandler struct {
	proto  core.Protocol
	handle func(ctx context.Context, req *core.RequestContext) (*core.Response, error)
	// errorResponse replaces the default error rendering, which is
	// {"fake-error": message} with the category's status.
	errorResponse func(ctx context.Context, req *core.RequestContext, err error) *core.Response
	closed        atomic.Bool
}

// echo is what the default fake handler answers.
type echo struct {
	Handler  string `json:"handler"`
	Method   string `json:"method"`
	Path     string `json:"path"`
	BaseURL  string `json:"baseURL"`
	Protocol string `json:"protocol"` // from the context
	HasActor bool   `json:"hasActor"`
	HasBody  bool   `json:"hasBody"`
}

func (f *fakeHandler) Protocol() core.Protocol { return f.proto }

func (f *fakeHandler) Handle(ctx context.Context, req *core.RequestContext) (*core.Response, error) {
	if f.handle != nil {
		return f.handle(ctx, req)
	}
	return core.JSONResponse(http.StatusOK, echo{
		Handler: string(f.proto), Method: req.Method, Path: req.Path, BaseURL: req.BaseURL,
		Protocol: string(core.ProtocolFrom(ctx)), HasActor: core.ActorFrom(ctx) == req.Actor && req.Actor != nil,
		HasBody: req.Body != nil,
	}), nil
}

func (f *fakeHandler) ErrorResponse(ctx context.Context, req *core.RequestContext, err error) *core.Response {
	if f.errorResponse != nil {
		return f.errorResponse(ctx, req, err)
	}
	return core.JSONResponse(core.HTTPStatus(err), map[string]string{"fake-error": core.ClientMessage(err)})
}

func (f *fakeHandler) Close(context.Context) error {
	f.closed.Store(true)
	return nil
}

// fakeMount places a fake handler at a base path.
type fakeMount struct {
	base        string
	registryURL string
	h           *fakeHandler
}

// newFakeRegistry builds a registry on the memory backend with no real
// protocol enabled and mounts the fakes, as New mounts real handlers.
func newFakeRegistry(t *testing.T, cfg Config, mounts ...fakeMount) *Registry {
	t.Helper()
	cfg.Storage.Backend = memory.New()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mounts {
		r.mount(&core.ProtocolConfig{Enabled: true, BasePath: m.base, RegistryURL: m.registryURL}, m.h)
	}
	return r
}

func get(r *Registry, ctx context.Context, method, path string) *core.Response {
	return r.HandleRequest(ctx, &core.RequestContext{Method: method, Path: path})
}

// readEcho reads and closes an echo response.
func readEcho(t *testing.T, resp *core.Response) echo {
	t.Helper()
	defer resp.Body.Close()
	var e echo
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatalf("status %d: not an echo: %v", resp.Status, err)
	}
	return e
}

func TestRouting(t *testing.T) {
	fakes := []fakeMount{
		{base: "/npm", h: &fakeHandler{proto: core.ProtocolNPM}},
		{base: "/npm-internal", h: &fakeHandler{proto: core.ProtocolPyPI}},
		{base: "/oci", h: &fakeHandler{proto: core.ProtocolOCI}},
		{base: "/maven/releases", h: &fakeHandler{proto: core.ProtocolMaven}},
	}
	r := newFakeRegistry(t, Config{}, fakes...)
	tests := []struct {
		path    string
		handler core.Protocol // "" for 404
		rest    string
	}{
		{"/npm/left-pad", core.ProtocolNPM, "/left-pad"},
		{"/npm", core.ProtocolNPM, "/"},
		{"/npm/", core.ProtocolNPM, "/"},
		{"/npm/-/v1/search", core.ProtocolNPM, "/-/v1/search"},
		// Base path stripped, the rest still percent-encoded.
		{"/npm/@scope%2fpkg", core.ProtocolNPM, "/@scope%2fpkg"},
		{"/npm/@scope%2Fpkg/-/pkg-1.0.0.tgz", core.ProtocolNPM, "/@scope%2Fpkg/-/pkg-1.0.0.tgz"},
		// The longest base path wins, and only at a segment boundary.
		{"/npm-internal/left-pad", core.ProtocolPyPI, "/left-pad"},
		{"/npm-internal", core.ProtocolPyPI, "/"},
		{"/npmx/left-pad", "", ""},
		{"/npm-internalx", "", ""},
		{"/npm%2fx", "", ""},
		{"/maven/releases/com/example/lib/maven-metadata.xml", core.ProtocolMaven, "/com/example/lib/maven-metadata.xml"},
		{"/maven", "", ""},
		// OCI at its base path, and at /v2 at the root whatever its base.
		{"/oci/v2/", core.ProtocolOCI, "/v2/"},
		{"/v2", core.ProtocolOCI, "/v2"},
		{"/v2/", core.ProtocolOCI, "/v2/"},
		{"/v2/team/app/manifests/latest", core.ProtocolOCI, "/v2/team/app/manifests/latest"},
		{"/v2x", "", ""},
		{"/v3/", "", ""},
		// Unknown paths.
		{"/", "", ""},
		{"", "", ""},
		{"npm/left-pad", "", ""},
		{"/NPM/left-pad", "", ""},
		{"/pypi/simple/", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp := get(r, t.Context(), http.MethodGet, tt.path)
			if tt.handler == "" {
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				if resp.Status != http.StatusNotFound || !strings.Contains(string(body), "not found") {
					t.Errorf("%s: status %d %s, want 404", tt.path, resp.Status, body)
				}
				return
			}
			e := readEcho(t, resp)
			if e.Handler != string(tt.handler) || e.Path != tt.rest {
				t.Errorf("%s reached %s with path %q, want %s with %q", tt.path, e.Handler, e.Path, tt.handler, tt.rest)
			}
			if e.Protocol != string(tt.handler) || !e.HasActor || !e.HasBody {
				t.Errorf("handler context: %+v", e)
			}
		})
	}
}

func TestRoutingRootMount(t *testing.T) {
	withOCI := newFakeRegistry(t, Config{},
		fakeMount{base: "/", h: &fakeHandler{proto: core.ProtocolNPM}},
		fakeMount{base: "/pypi", h: &fakeHandler{proto: core.ProtocolPyPI}},
		fakeMount{base: "/oci", h: &fakeHandler{proto: core.ProtocolOCI}},
	)
	withoutOCI := newFakeRegistry(t, Config{},
		fakeMount{base: "/", h: &fakeHandler{proto: core.ProtocolNPM}},
	)
	tests := []struct {
		r             *Registry
		path          string
		handler, rest string
	}{
		{withOCI, "/", "npm", "/"},
		{withOCI, "/left-pad", "npm", "/left-pad"},
		{withOCI, "/@scope%2fpkg", "npm", "/@scope%2fpkg"},
		{withOCI, "/pypi/simple/", "pypi", "/simple/"},
		{withOCI, "/pypix", "npm", "/pypix"},
		// /v2 belongs to OCI even when a protocol sits at the root.
		{withOCI, "/v2/", "oci", "/v2/"},
		{withOCI, "/v2", "oci", "/v2"},
		{withOCI, "/v2x", "npm", "/v2x"},
		{withoutOCI, "/v2/", "npm", "/v2/"},
	}
	for _, tt := range tests {
		e := readEcho(t, get(tt.r, t.Context(), http.MethodGet, tt.path))
		if e.Handler != tt.handler || e.Path != tt.rest {
			t.Errorf("%s reached %s with %q, want %s with %q", tt.path, e.Handler, e.Path, tt.handler, tt.rest)
		}
	}
	resp := get(withOCI, t.Context(), http.MethodGet, "no-slash")
	resp.Body.Close()
	if resp.Status != http.StatusNotFound {
		t.Errorf("path without leading slash: %d", resp.Status)
	}
}

func TestRoutingWithoutOCI(t *testing.T) {
	r := newFakeRegistry(t, Config{}, fakeMount{base: "/npm", h: &fakeHandler{proto: core.ProtocolNPM}})
	resp := get(r, t.Context(), http.MethodGet, "/v2/")
	resp.Body.Close()
	if resp.Status != http.StatusNotFound {
		t.Errorf("/v2/ without OCI: %d, want 404", resp.Status)
	}
}

// errBody is a closer that records being closed.
type errBody struct {
	io.Reader
	closed *atomic.Bool
}

func (b errBody) Close() error { b.closed.Store(true); return nil }

func TestHandlerErrorsAndPanics(t *testing.T) {
	var leakedClosed atomic.Bool
	ociStyle := func(_ context.Context, _ *core.RequestContext, err error) *core.Response {
		body := map[string]any{"errors": []map[string]string{{"code": "DENIED", "message": core.ClientMessage(err)}}}
		return core.JSONResponse(core.HTTPStatus(err), body)
	}
	tests := []struct {
		name          string
		handle        func(ctx context.Context, req *core.RequestContext) (*core.Response, error)
		errorResponse func(ctx context.Context, req *core.RequestContext, err error) *core.Response
		status        int
		body          string // a substring of the body
	}{
		{"categorised error, protocol format", func(context.Context, *core.RequestContext) (*core.Response, error) {
			return nil, fmt.Errorf("%w: push to team/app", core.ErrForbidden)
		}, ociStyle, http.StatusForbidden, `{"errors":[{"code":"DENIED","message":"forbidden: push to team/app"}]}`},
		{"internal error hidden", func(context.Context, *core.RequestContext) (*core.Response, error) {
			return nil, errors.New("s3: secret bucket name exploded")
		}, nil, http.StatusInternalServerError, `{"fake-error":"internal error"}`},
		{"error with a response: body closed, error rendered", func(context.Context, *core.RequestContext) (*core.Response, error) {
			resp := core.NewResponse(http.StatusOK)
			resp.Body = errBody{strings.NewReader("partial"), &leakedClosed}
			return resp, fmt.Errorf("%w: x", core.ErrConflict)
		}, nil, http.StatusConflict, `"fake-error":"conflict: x"`},
		{"panic", func(context.Context, *core.RequestContext) (*core.Response, error) {
			panic("boom: secret detail")
		}, nil, http.StatusInternalServerError, `{"fake-error":"internal error"}`},
		{"panic with an error value", func(context.Context, *core.RequestContext) (*core.Response, error) {
			panic(fmt.Errorf("%w: not really", core.ErrNotFound))
		}, nil, http.StatusInternalServerError, `internal error`},
		{"panic, and ErrorResponse panics too", func(context.Context, *core.RequestContext) (*core.Response, error) {
			panic("first")
		}, func(context.Context, *core.RequestContext, error) *core.Response {
			panic("second")
		}, http.StatusInternalServerError, `{"error":"internal error"}`},
		{"ErrorResponse returns nil", func(context.Context, *core.RequestContext) (*core.Response, error) {
			return nil, core.ErrNotFound
		}, func(context.Context, *core.RequestContext, error) *core.Response {
			return nil
		}, http.StatusNotFound, `{"error":"not found"}`},
		{"nil response: 204", func(context.Context, *core.RequestContext) (*core.Response, error) {
			return nil, nil
		}, nil, http.StatusNoContent, ""},
		{"status 0: 200", func(context.Context, *core.RequestContext) (*core.Response, error) {
			return &core.Response{Body: io.NopCloser(strings.NewReader("ok"))}, nil
		}, nil, http.StatusOK, "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := &fakeHandler{proto: core.ProtocolOCI, handle: tt.handle, errorResponse: tt.errorResponse}
			r := newFakeRegistry(t, Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, fakeMount{base: "/oci", h: h})
			var resp *core.Response
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("HandleRequest panicked: %v", p)
					}
				}()
				resp = get(r, t.Context(), http.MethodGet, "/oci/v2/")
			}()
			if resp.Status != tt.status || resp.Header == nil {
				t.Errorf("status %d, want %d", resp.Status, tt.status)
			}
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q, want nosniff", got)
			}
			body := ""
			if resp.Body != nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				body = string(b)
			}
			if !strings.Contains(body, tt.body) || strings.Contains(body, "secret") {
				t.Errorf("body %q, want it to contain %q", body, tt.body)
			}
			if tt.status == http.StatusInternalServerError && !strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("a 500 was not logged: %s", logs.String())
			}
		})
	}
	if !leakedClosed.Load() {
		t.Error("the body of a response returned with an error was not closed")
	}
}

func TestHandleRequestFillsRequest(t *testing.T) {
	var got core.RequestContext
	var ctxProto core.Protocol
	var ctxActor *core.Actor
	h := &fakeHandler{proto: core.ProtocolNPM, handle: func(ctx context.Context, req *core.RequestContext) (*core.Response, error) {
		got = *req
		ctxProto, ctxActor = core.ProtocolFrom(ctx), core.ActorFrom(ctx)
		req.Actor.UserID = "alice" // as IdentifyRequest does
		return nil, nil
	}}
	r := newFakeRegistry(t, Config{}, fakeMount{base: "/npm", h: h})
	req := &core.RequestContext{Method: http.MethodPut, Path: "/npm/x", ContentLength: -1}
	resp := r.HandleRequest(t.Context(), req)
	if resp.Status != http.StatusNoContent {
		t.Errorf("status %d", resp.Status)
	}
	if got.Body == nil || got.Header == nil || got.Actor == nil || got.Path != "/x" {
		t.Errorf("handler got %+v", got)
	}
	if n, err := got.Body.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("missing body reads %d, %v", n, err)
	}
	if ctxProto != core.ProtocolNPM || ctxActor != got.Actor {
		t.Errorf("context protocol %q actor %p, want npm and %p", ctxProto, ctxActor, got.Actor)
	}
	if req.Path != "/npm/x" {
		t.Errorf("the caller's request was changed: %q", req.Path)
	}
	if resp := r.HandleRequest(t.Context(), nil); resp.Status != http.StatusBadRequest {
		t.Errorf("nil request: %d", resp.Status)
	}
	// A caller-supplied actor is the one the handler fills in.
	actor := &core.Actor{IP: "192.0.2.7"}
	r.HandleRequest(t.Context(), &core.RequestContext{Method: http.MethodGet, Path: "/npm/x", Actor: actor})
	if actor.UserID != "alice" || got.Actor != actor {
		t.Errorf("actor %+v", actor)
	}
}

func TestCloseClosesHandlers(t *testing.T) {
	a, b := &fakeHandler{proto: core.ProtocolNPM}, &fakeHandler{proto: core.ProtocolOCI}
	r := newFakeRegistry(t, Config{}, fakeMount{base: "/npm", h: a}, fakeMount{base: "/oci", h: b})
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !a.closed.Load() || !b.closed.Load() {
		t.Error("a handler was not closed")
	}
	if r.Storage() == nil || r.Auth() == nil || r.OCI() != nil || r.NPM() != nil || r.PyPI() != nil {
		t.Error("accessors")
	}
}
