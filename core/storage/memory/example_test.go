package memory_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/smartregistry/smartregistry/core"
	"github.com/smartregistry/smartregistry/core/storage/memory"
)

// The memory backend keeps objects in the process: for tests, and for
// trying the registry out. Here it is used through core.Storage, as the
// protocol handlers use it.
func ExampleNew() {
	ctx := context.Background()
	storage := core.NewStorage(memory.New(), core.StorageHooks{})

	if _, err := storage.Put(ctx, "npm/left-pad.json", strings.NewReader(`{"name":"left-pad"}`), -1, core.PutOptions{}); err != nil {
		panic(err)
	}
	// A second put with IfAbsent fails: the key is taken.
	_, err := storage.Put(ctx, "npm/left-pad.json", strings.NewReader(`{}`), 2, core.PutOptions{IfAbsent: true})
	fmt.Println(errors.Is(err, core.ErrPreconditionFailed))

	rc, info, err := storage.Get(ctx, "npm/left-pad.json", nil)
	if err != nil {
		panic(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	fmt.Println(info.Size, string(b))

	_, _, err = storage.Get(ctx, "npm/missing.json", nil)
	fmt.Println(errors.Is(err, core.ErrNotFound))
	// Output:
	// true
	// 19 {"name":"left-pad"}
	// true
}
