package core_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

func TestTokenExpiry(t *testing.T) {
	ctx := t.Context()
	t.Run("memory", func(t *testing.T) {
		p := newMemoryProvider(t, core.DefaultAuthOptions{Users: fixtureUsers()})
		// A nanosecond has passed by the time it is checked.
		tok, info, err := p.CreateToken(ctx, "alice", core.TokenOptions{TTL: time.Nanosecond})
		if err != nil {
			t.Fatal(err)
		}
		if info.ExpiresAt.IsZero() {
			t.Fatal("no expiry recorded")
		}
		if _, err := p.ValidateToken(ctx, tok, ""); !errors.Is(err, core.ErrUnauthorized) {
			t.Errorf("expired token: %v, want ErrUnauthorized", err)
		}
	})
	t.Run("storage", func(t *testing.T) {
		st := core.NewStorage(memory.New(), core.StorageHooks{})
		// The record is changed behind the provider's back, as another
		// replica would: without the token cache that shows at once.
		p := newMemoryProvider(t, core.DefaultAuthOptions{Users: fixtureUsers(), Storage: st, TokenCacheTTL: -1})
		tok, _, err := p.CreateToken(ctx, "alice", core.TokenOptions{TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		pr, err := p.ValidateToken(ctx, tok, "")
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Until(pr.ExpiresAt); d < 59*time.Minute || d > time.Hour {
			t.Errorf("principal expires in %v", d)
		}
		// Move the stored expiry into the past.
		key := "auth/tokens/" + sha256Hex(tok) + ".json"
		_, err = core.UpdateJSON(ctx, st, key, func(doc *map[string]any, exists bool) error {
			if !exists {
				return errors.New("token record not at " + key)
			}
			(*doc)["expiresAt"] = time.Now().Add(-time.Second).Format(time.RFC3339Nano)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.ValidateToken(ctx, tok, ""); !errors.Is(err, core.ErrUnauthorized) {
			t.Errorf("expired token: %v, want ErrUnauthorized", err)
		}
	})
}

func TestTokensPersistInStorage(t *testing.T) {
	ctx := t.Context()
	backend := memory.New()
	st := core.NewStorage(backend, core.StorageHooks{})
	opts := core.DefaultAuthOptions{Users: fixtureUsers(), Storage: st}
	first := newMemoryProvider(t, opts)
	var raw []string
	for _, user := range []string{"alice", "alice", "reader"} {
		tok, _, err := first.CreateToken(ctx, user, core.TokenOptions{Name: "laptop"})
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, tok)
	}

	// A new provider on the same storage (a restart, or another replica).
	second := newMemoryProvider(t, opts)
	for _, tok := range raw {
		if _, err := second.ValidateToken(ctx, tok, ""); err != nil {
			t.Errorf("token lost across providers: %v", err)
		}
	}
	if list, err := second.ListTokens(ctx, "alice"); err != nil || len(list) != 2 {
		t.Errorf("ListTokens(alice) = %d tokens, %v", len(list), err)
	}
	if list, err := second.ListTokens(ctx, "reader"); err != nil || len(list) != 1 {
		t.Errorf("ListTokens(reader) = %d tokens, %v", len(list), err)
	}
	if err := second.RevokeToken(ctx, "alice", core.TokenID(raw[0])); err != nil {
		t.Fatal(err)
	}
	if _, err := first.ValidateToken(ctx, raw[0], ""); !errors.Is(err, core.ErrUnauthorized) {
		t.Errorf("token revoked by the other provider still valid: %v", err)
	}
	if _, err := first.ValidateToken(ctx, raw[1], ""); err != nil {
		t.Errorf("the other token of the same user went too: %v", err)
	}

	// Only hashes are stored: no stored object holds a raw token.
	n := 0
	err := st.Walk(ctx, "", func(o core.ObjectInfo) error {
		n++
		rc, _, err := backend.Get(ctx, o.Key, nil)
		if err != nil {
			return err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			return err
		}
		for _, tok := range raw {
			if bytes.Contains(b, []byte(tok)) || strings.Contains(o.Key, tok) {
				t.Errorf("raw token in stored object %s", o.Key)
			}
		}
		if !strings.HasPrefix(o.Key, "auth/tokens/") {
			t.Errorf("token record outside auth/tokens/: %s", o.Key)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("%d stored objects, want 2", n)
	}
	for _, tok := range raw[1:] {
		if _, err := st.Stat(ctx, "auth/tokens/"+sha256Hex(tok)+".json"); err != nil {
			t.Errorf("no record at the token's SHA-256: %v", err)
		}
	}
}

// TestTokensFollowTheirUser: persisted tokens are held to their user's
// current configuration after a restart: narrowed with the user, dead when
// the user is removed.
func TestTokensFollowTheirUser(t *testing.T) {
	ctx := t.Context()
	st := core.NewStorage(memory.New(), core.StorageHooks{})
	before := newMemoryProvider(t, core.DefaultAuthOptions{Users: fixtureUsers(), Storage: st})
	tok, _, err := before.CreateToken(ctx, "alice", core.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}

	narrowed := newMemoryProvider(t, core.DefaultAuthOptions{Storage: st, Users: []core.UserConfig{
		{Username: "alice", PasswordHash: quickHash(alicePassword), Scopes: []string{"npm:*:*:read"}},
	}})
	m := newManager(t, narrowed)
	pr, err := narrowed.ValidateToken(ctx, tok, core.ProtocolNPM)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Authorize(ctx, pr, core.NewScope(core.ProtocolNPM, "package", "x", core.ActionRead)); err != nil {
		t.Errorf("read: %v", err)
	}
	if err := m.Authorize(ctx, pr, core.NewScope(core.ProtocolNPM, "package", "x", core.ActionWrite)); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("write after the user was narrowed to read: %v, want ErrForbidden", err)
	}

	removed := newMemoryProvider(t, core.DefaultAuthOptions{Storage: st, Users: fixtureUsers()[1:]})
	if _, err := removed.ValidateToken(ctx, tok, ""); !errors.Is(err, core.ErrUnauthorized) {
		t.Errorf("token of a removed user: %v, want ErrUnauthorized", err)
	}
}

func TestTokenStoragePrefix(t *testing.T) {
	st := core.NewStorage(memory.New(), core.StorageHooks{})
	p := newMemoryProvider(t, core.DefaultAuthOptions{Users: fixtureUsers(), Storage: st, StoragePrefix: "meta/tokens"})
	tok, _, err := p.CreateToken(t.Context(), "alice", core.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Stat(t.Context(), "meta/tokens/"+sha256Hex(tok)+".json"); err != nil {
		t.Errorf("token not under the prefix: %v", err)
	}
}
