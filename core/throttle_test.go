package core_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// countingProvider accepts the password "right" for any user and counts
// the password checks it is asked for.
type countingProvider struct {
	core.AuthProvider
	checks atomic.Int64
}

func (p *countingProvider) Authenticate(_ context.Context, user, password string) (*core.Principal, error) {
	p.checks.Add(1)
	if password != "right" {
		return nil, fmt.Errorf("%w: wrong password", core.ErrUnauthorized)
	}
	return &core.Principal{UserID: user}, nil
}

// throttled is an AuthManager with a throttle on a clock the test moves.
type throttled struct {
	m     *core.AuthManager
	prov  *countingProvider
	clock time.Time
}

func newThrottled(t *testing.T, st *core.Storage) *throttled {
	t.Helper()
	th := &throttled{prov: &countingProvider{}, clock: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	lt := core.DefaultLoginThrottle
	lt.Storage = st
	m, err := core.NewAuthManager(core.AuthOptions{Provider: th.prov, LoginThrottle: lt})
	if err != nil {
		t.Fatal(err)
	}
	core.SetThrottleClock(m, func() time.Time { return th.clock })
	th.m = m
	return th
}

func (th *throttled) login(user, password, ip string) error {
	ctx := core.WithActor(context.Background(), &core.Actor{IP: ip})
	_, err := th.m.Authenticate(ctx, user, password)
	return err
}

// TestLoginThrottle: failures lock a user name after 5 and an IP after 20,
// for a delay that doubles; locked attempts cost no password check; a
// success clears the user's count; the window forgets old failures.
func TestLoginThrottle(t *testing.T) {
	type attempt struct {
		user, password, ip string
		advance            time.Duration // before the attempt
		want               error         // nil, ErrUnauthorized or ErrTooManyRequests
		checked            bool          // whether the password was checked
	}
	wrong := func(user, ip string, want error, checked bool) attempt {
		return attempt{user: user, password: "wrong", ip: ip, want: want, checked: checked}
	}
	five := func(user, ip string) []attempt {
		var out []attempt
		for range 5 {
			out = append(out, wrong(user, ip, core.ErrUnauthorized, true))
		}
		return out
	}
	cat := func(parts ...[]attempt) []attempt {
		var out []attempt
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name     string
		attempts []attempt
	}{
		{"user locked after 5 failures, without a check", cat(five("alice", "a"), []attempt{
			wrong("alice", "a", core.ErrTooManyRequests, false),
			wrong("alice", "b", core.ErrTooManyRequests, false), // another IP: the name is locked
			{user: "alice", password: "right", ip: "c", want: core.ErrTooManyRequests},
			wrong("bob", "a", core.ErrUnauthorized, true), // another name from the same IP
		})},
		{"the lock expires and doubles", cat(five("alice", "a"), []attempt{
			{user: "alice", password: "wrong", ip: "a", advance: 1100 * time.Millisecond, want: core.ErrUnauthorized, checked: true},
			{user: "alice", password: "wrong", ip: "a", advance: 1100 * time.Millisecond, want: core.ErrTooManyRequests}, // locked 2 s now
			{user: "alice", password: "right", ip: "a", advance: time.Second, want: nil, checked: true},
			wrong("alice", "a", core.ErrUnauthorized, true), // the success cleared the count
		})},
		{"the window forgets", cat(five("alice", "a")[:4], []attempt{
			{user: "alice", password: "wrong", ip: "a", advance: 16 * time.Minute, want: core.ErrUnauthorized, checked: true},
			wrong("alice", "a", core.ErrUnauthorized, true),
		})},
		{"IP locked after 20 failures over many names", func() []attempt {
			var out []attempt
			for i := range 20 {
				out = append(out, wrong(fmt.Sprintf("user%d", i), "10.0.0.1", core.ErrUnauthorized, true))
			}
			return append(out,
				wrong("someone", "10.0.0.1", core.ErrTooManyRequests, false),
				attempt{user: "someone", password: "right", ip: "10.0.0.1", want: core.ErrTooManyRequests},
				wrong("someone", "10.0.0.2", core.ErrUnauthorized, true))
		}()},
	}
	for _, backend := range []string{"memory", "storage"} {
		for _, tc := range tests {
			t.Run(backend+"/"+tc.name, func(t *testing.T) {
				var st *core.Storage
				if backend == "storage" {
					st = core.NewStorage(memory.New(), core.StorageHooks{})
				}
				th := newThrottled(t, st)
				for i, a := range tc.attempts {
					th.clock = th.clock.Add(a.advance)
					before := th.prov.checks.Load()
					err := th.login(a.user, a.password, a.ip)
					if a.want == nil && err != nil || a.want != nil && !errors.Is(err, a.want) {
						t.Fatalf("attempt %d (%s from %s): %v, want %v", i, a.user, a.ip, err, a.want)
					}
					if checked := th.prov.checks.Load() > before; checked != a.checked {
						t.Fatalf("attempt %d: password checked %v, want %v", i, checked, a.checked)
					}
				}
			})
		}
	}
}

// TestLoginThrottleAcrossReplicas: two managers on one storage share the
// counters: failures on one lock the name on the other.
func TestLoginThrottleAcrossReplicas(t *testing.T) {
	st := core.NewStorage(memory.New(), core.StorageHooks{})
	a, b := newThrottled(t, st), newThrottled(t, st)
	for i := range 5 {
		if err := a.login("alice", "wrong", fmt.Sprint("ip", i)); !errors.Is(err, core.ErrUnauthorized) {
			t.Fatalf("attempt %d on a: %v", i, err)
		}
	}
	if err := b.login("alice", "wrong", "elsewhere"); !errors.Is(err, core.ErrTooManyRequests) {
		t.Fatalf("on b: %v, want the lock a recorded", err)
	}
	if n := b.prov.checks.Load(); n != 0 {
		t.Errorf("b checked %d passwords", n)
	}
}

// TestRecentPasswordPassesTheLock: a password that checked out recently is
// accepted while its user is locked by someone else's guesses (clients
// that send Basic on every request keep working), at no PBKDF2 cost.
func TestRecentPasswordPassesTheLock(t *testing.T) {
	p, err := core.NewDefaultAuthProvider(core.DefaultAuthOptions{Users: []core.UserConfig{
		{Username: "alice", PasswordHash: quickHash("right")}}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := core.NewAuthManager(core.AuthOptions{Provider: p, LoginThrottle: core.DefaultLoginThrottle})
	if err != nil {
		t.Fatal(err)
	}
	ctx := core.WithActor(t.Context(), &core.Actor{IP: "192.0.2.7"})
	if _, err := m.Authenticate(ctx, "alice", "right"); err != nil {
		t.Fatal(err)
	}
	attacker := core.WithActor(t.Context(), &core.Actor{IP: "198.51.100.1"})
	for range 6 {
		m.Authenticate(attacker, "alice", "guess")
	}
	if _, err := m.Authenticate(attacker, "alice", "guess"); !errors.Is(err, core.ErrTooManyRequests) {
		t.Fatalf("the attacker is not locked out: %v", err)
	}
	if _, err := m.Authenticate(ctx, "alice", "right"); err != nil {
		t.Fatalf("alice's recent password refused while locked: %v", err)
	}
}
