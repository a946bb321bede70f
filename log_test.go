package smartregistry

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// TestRequestLog: one line per request with the protocol and no empty
// write error, unless switched off.
func TestRequestLog(t *testing.T) {
	tests := []struct {
		name    string
		disable bool
		path    string
		want    []string
		notWant []string
	}{
		{"served", false, "/npm/x", []string{"msg=request", "method=GET", "path=/npm/x", "protocol=npm", "status=200"},
			[]string{"writeError", "error="}},
		{"unrouted", false, "/nothing", []string{"path=/nothing", "protocol=\"\"", "status=404"}, []string{"writeError"}},
		{"switched off", true, "/npm/x", nil, []string{"msg=request"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			cfg := Config{Logger: slog.New(slog.NewTextHandler(&logs, nil)), DisableRequestLog: tt.disable}
			r := newFakeRegistry(t, cfg, fakeMount{base: "/npm", h: &fakeHandler{proto: core.ProtocolNPM}})
			r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, tt.path, nil))
			for _, w := range tt.want {
				if !strings.Contains(logs.String(), w) {
					t.Errorf("log %q lacks %s", logs.String(), w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(logs.String(), w) {
					t.Errorf("log %q has %s", logs.String(), w)
				}
			}
		})
	}
}

func TestCloseTwice(t *testing.T) {
	h := &fakeHandler{proto: core.ProtocolNPM}
	r := newFakeRegistry(t, Config{}, fakeMount{base: "/npm", h: h})
	for i := range 2 {
		if err := r.Close(t.Context()); err != nil {
			t.Errorf("Close #%d: %v", i+1, err)
		}
	}
	if !h.closed.Load() {
		t.Error("the handler was not closed")
	}
	cfg := Config{Storage: StorageConfig{Backend: memory.New()}, Logger: slog.New(slog.DiscardHandler)}
	cfg.OCI.Enabled, cfg.NPM.Enabled, cfg.PyPI.Enabled = true, true, true
	real, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := real.Close(t.Context()); err != nil {
			t.Errorf("Close #%d of the real handlers: %v", i+1, err)
		}
	}
}
