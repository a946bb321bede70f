package core_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// TestTokenCache checks that a stored token is read from storage once per
// TTL, that a revocation is seen at once by the instance that revoked and
// within the TTL by another instance on the same storage.
func TestTokenCache(t *testing.T) {
	ctx := t.Context()
	var reads atomic.Int64
	st := core.NewStorage(memory.New(), core.StorageHooks{AfterGet: func(_ context.Context, _ core.HookEvent) { reads.Add(1) }})
	hash, err := core.HashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	opts := core.DefaultAuthOptions{Users: []core.UserConfig{{Username: "alice", PasswordHash: hash}}, Storage: st}
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	newProvider := func() *core.DefaultAuthProvider {
		p, err := core.NewDefaultAuthProvider(opts)
		if err != nil {
			t.Fatal(err)
		}
		core.SetTokenCacheClock(p, func() time.Time { return clock })
		return p
	}
	a, b := newProvider(), newProvider()
	tok, info, err := a.CreateToken(ctx, "alice", core.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	validate := func(p *core.DefaultAuthProvider) error {
		_, err := p.ValidateToken(ctx, tok, "")
		return err
	}
	for range 3 {
		if err := validate(b); err != nil {
			t.Fatal(err)
		}
	}
	if n := reads.Load(); n != 1 {
		t.Fatalf("3 validations read storage %d times, want 1", n)
	}
	if err := a.RevokeToken(ctx, "alice", info.ID); err != nil {
		t.Fatal(err)
	}
	if err := validate(a); !errors.Is(err, core.ErrUnauthorized) {
		t.Fatalf("revoking instance: %v, want core.ErrUnauthorized", err)
	}
	if err := validate(b); err != nil {
		t.Fatalf("other instance within the TTL: %v, want the cached record", err)
	}
	clock = clock.Add(10 * time.Second)
	if err := validate(b); !errors.Is(err, core.ErrUnauthorized) {
		t.Fatalf("other instance after the TTL: %v, want core.ErrUnauthorized", err)
	}
}
