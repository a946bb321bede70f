package smartregistry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// TestErrorRenderersShowHookRefusal: each protocol's error renderer gives a
// storage hook's refusal the status its error's category chooses and shows
// the hook's message in the protocol's own body format.
func TestErrorRenderersShowHookRefusal(t *testing.T) {
	cfg := Config{Storage: StorageConfig{Backend: memory.New()}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	cfg.OCI.Enabled, cfg.NPM.Enabled, cfg.PyPI.Enabled = true, true, true
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(t.Context()) })
	quota := &core.RefusedError{Op: "put", Key: "k", Err: fmt.Errorf("%w: tenant acme is over its quota", core.ErrTooLarge)}
	policy := &core.RefusedError{Op: "delete", Key: "k", Err: errors.New("releases are kept for a year")}
	handlers := map[string]core.ProtocolHandler{"oci": r.OCI(), "npm": r.NPM(), "pypi": r.PyPI()}
	tests := []struct {
		protocol string
		err      error
		status   int
		body     string
	}{
		{"oci", quota, http.StatusRequestEntityTooLarge, `"code":"DENIED","message":"put refused: too large: tenant acme is over its quota"`},
		{"oci", policy, http.StatusForbidden, `"code":"DENIED","message":"delete refused: releases are kept for a year"`},
		{"npm", quota, http.StatusRequestEntityTooLarge, `{"error":"put refused: too large: tenant acme is over its quota"}`},
		{"npm", policy, http.StatusForbidden, `{"error":"delete refused: releases are kept for a year"}`},
		{"pypi", quota, http.StatusRequestEntityTooLarge, "413 put refused: too large: tenant acme is over its quota"},
		{"pypi", policy, http.StatusForbidden, "403 delete refused: releases are kept for a year"},
	}
	for _, tt := range tests {
		t.Run(tt.protocol+" "+tt.err.Error(), func(t *testing.T) {
			req := &core.RequestContext{Method: http.MethodPut, Path: "/x", Header: http.Header{}, BaseURL: "http://localhost"}
			resp := handlers[tt.protocol].ErrorResponse(t.Context(), req, fmt.Errorf("publish: %w", tt.err))
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.Status != tt.status || !strings.Contains(string(b), tt.body) {
				t.Errorf("%d %s, want %d with %s", resp.Status, b, tt.status, tt.body)
			}
		})
	}
}

// TestHookErrorChoosesStatus: a BeforePut hook's error travels through
// Storage and a handler to the client with its own category's status.
func TestHookErrorChoosesStatus(t *testing.T) {
	var hookErr error
	cfg := Config{StorageHooks: core.StorageHooks{
		BeforePut: func(context.Context, core.HookEvent) error { return hookErr },
	}}
	var r *Registry
	var refusal *core.RefusedError
	h := &fakeHandler{proto: core.ProtocolNPM, handle: func(ctx context.Context, req *core.RequestContext) (*core.Response, error) {
		if _, err := r.Storage().Put(ctx, "npm/x", req.Body, req.ContentLength, core.PutOptions{}); err != nil {
			errors.As(err, &refusal)
			return nil, fmt.Errorf("store tarball: %w", err)
		}
		return core.NewResponse(http.StatusCreated), nil
	}}
	r = newFakeRegistry(t, cfg, fakeMount{base: "/npm", h: h})
	tests := []struct {
		name   string
		err    error
		status int
		body   string
	}{
		{"quota", fmt.Errorf("%w: tenant acme is over its quota", core.ErrTooLarge), http.StatusRequestEntityTooLarge,
			"put refused: too large: tenant acme is over its quota"},
		{"plain", errors.New("publishing is closed"), http.StatusForbidden, "put refused: publishing is closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hookErr, refusal = tt.err, nil
			resp := r.HandleRequest(t.Context(), core.NewRequest(http.MethodPut, "/npm/x", strings.NewReader("tarball")))
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if refusal == nil || refusal.Err == nil {
				t.Errorf("the handler saw %v, not a RefusedError carrying the hook's error", refusal)
			}
			if resp.Status != tt.status || !strings.Contains(string(b), tt.body) {
				t.Errorf("%d %s, want %d with %q", resp.Status, b, tt.status, tt.body)
			}
		})
	}
}
