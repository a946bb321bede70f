package core_test

import (
	"context"
	"fmt"
	"time"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// noDeletesOnFriday is the built-in provider with one method changed: it
// embeds *core.DefaultAuthProvider and overrides Authorize.
type noDeletesOnFriday struct {
	*core.DefaultAuthProvider
	today func() time.Weekday
}

// Authorize refuses deletes on Fridays and otherwise asks the built-in
// provider.
func (p noDeletesOnFriday) Authorize(ctx context.Context, pr *core.Principal, want core.Scope) (bool, error) {
	if want.Action == core.ActionDelete && p.today() == time.Friday {
		return false, nil
	}
	return p.DefaultAuthProvider.Authorize(ctx, pr, want)
}

// Wrapping the built-in provider: build it with NewDefaultAuthProvider
// (give it a Storage over the registry's backend to persist tokens) and
// set your wrapper as Config.AuthProvider.
func ExampleDefaultAuthProvider_wrap() {
	builtin, err := core.NewDefaultAuthProvider(core.DefaultAuthOptions{
		Users:   []core.UserConfig{{Username: "ann", Password: "ann-pw", OrgID: "web"}},
		Storage: core.NewStorage(memory.New(), core.StorageHooks{}),
	})
	if err != nil {
		panic(err)
	}
	provider := noDeletesOnFriday{DefaultAuthProvider: builtin, today: func() time.Weekday { return time.Friday }}

	ctx := context.Background()
	ann, err := provider.Authenticate(ctx, "ann", "ann-pw")
	if err != nil {
		panic(err)
	}
	for _, action := range []core.Action{core.ActionWrite, core.ActionDelete} {
		ok, _ := provider.Authorize(ctx, ann, core.NewScope(core.ProtocolNPM, "package", "left-pad", action))
		fmt.Println(ann.UserID, ann.OrgID, action, ok)
	}
	// Output:
	// ann web write true
	// ann web delete false
}
