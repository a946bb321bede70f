package core_test

import (
	"context"
	"testing"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// BenchmarkLoginFlood is one anonymous caller sending wrong passwords for
// a real user, with the real PBKDF2 cost: the CPU each refused attempt
// costs the server. Unthrottled ("off", as before LoginThrottle) every
// attempt pays PBKDF2; throttled, all but the first few are refused before
// any password check.
func BenchmarkLoginFlood(b *testing.B) {
	withStorage := core.DefaultLoginThrottle
	withStorage.Storage = core.NewStorage(memory.New(), core.StorageHooks{})
	for _, bc := range []struct {
		name     string
		throttle core.LoginThrottle
	}{
		{"off", core.LoginThrottle{}},
		{"default", core.DefaultLoginThrottle},
		{"default, counters in storage", withStorage},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p, err := core.NewDefaultAuthProvider(core.DefaultAuthOptions{Users: []core.UserConfig{{Username: "admin", Password: "right"}}})
			if err != nil {
				b.Fatal(err)
			}
			m, err := core.NewAuthManager(core.AuthOptions{Provider: p, LoginThrottle: bc.throttle})
			if err != nil {
				b.Fatal(err)
			}
			ctx := core.WithActor(context.Background(), &core.Actor{IP: "192.0.2.1"})
			for b.Loop() {
				if _, err := m.Login(ctx, core.ProtocolPyPI, "admin", "wrong"); err == nil {
					b.Fatal("a wrong password was accepted")
				}
			}
		})
	}
}
