package handlertest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// fake answers by path: /ok with a zero status, /none with nothing, and
// anything else with an error; it records what the context carried.
type fake struct {
	protocol core.Protocol
	actor    bool
}

func (f *fake) Protocol() core.Protocol { return core.ProtocolPyPI }

func (f *fake) Handle(ctx context.Context, req *core.RequestContext) (*core.Response, error) {
	f.protocol, f.actor = core.ProtocolFrom(ctx), core.ActorFrom(ctx) == req.Actor
	switch req.Path {
	case "/ok":
		return core.BytesResponse(0, "text/plain", []byte("hello")), nil
	case "/none":
		return nil, nil
	}
	return nil, core.ErrNotFound
}

func (f *fake) ErrorResponse(_ context.Context, _ *core.RequestContext, err error) *core.Response {
	return core.BytesResponse(core.HTTPStatus(err), "text/plain", []byte(err.Error()))
}

func TestDo(t *testing.T) {
	for _, tt := range []struct {
		path   string
		status int
		body   string
	}{
		{"/ok?a=b", http.StatusOK, "hello"},
		{"/none", http.StatusNoContent, ""},
		{"/missing", http.StatusNotFound, core.ErrNotFound.Error()},
	} {
		h := &fake{}
		r := Do(t.Context(), t, h, Request(t, http.MethodGet, tt.path, nil, "http://registry.test"))
		if r.Status != tt.status || r.Body != tt.body {
			t.Errorf("%s: %d %q, want %d %q", tt.path, r.Status, r.Body, tt.status, tt.body)
		}
		if h.protocol != core.ProtocolPyPI || !h.actor {
			t.Errorf("%s: the context carried protocol %q, actor %v", tt.path, h.protocol, h.actor)
		}
	}
}

func TestTry(t *testing.T) {
	for _, tt := range []struct {
		path   string
		status int
		body   string
		err    error
	}{
		{"/ok", http.StatusOK, "hello", nil},
		{"/none", http.StatusNoContent, "", nil},
		{"/missing", http.StatusNotFound, "", core.ErrNotFound},
	} {
		status, body, err := Try(t.Context(), &fake{}, Request(t, http.MethodGet, tt.path, nil, "http://registry.test"))
		if status != tt.status || string(body) != tt.body || !errors.Is(err, tt.err) {
			t.Errorf("%s: %d %q %v, want %d %q %v", tt.path, status, body, err, tt.status, tt.body, tt.err)
		}
	}
}

func TestServeAndDeps(t *testing.T) {
	deps := Deps(t, memory.New(), core.StorageHooks{}, core.DefaultAuthOptions{
		Tokens: []core.StaticToken{{Token: "t", UserID: "u"}}}, core.ProtocolPyPI)
	if !deps.Auth.AnonymousRead(core.ProtocolPyPI) || deps.Auth.AnonymousRead(core.ProtocolNPM) || deps.Storage == nil {
		t.Fatal("Deps did not take the options")
	}
	resp, err := http.Get(Serve(t, &fake{}).URL + "/ok")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK || string(b) != "hello" {
		t.Fatalf("%d %q", resp.StatusCode, b)
	}
}
